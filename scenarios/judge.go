package scenarios

// Judge is the runner's verdict for a backend other than the guests (the
// sim backend, sim/): it evaluates the expectations that answered selects
// (by index into s.Expect) on o.Flows, as Runner does on the flows a boot
// measured, and sets o's checks, status and message; err is the backend's
// error for the scenario (a *NotRunnableError: not runnable).
func Judge(s *Scenario, o *Outcome, answered func(expect int) bool, err error) {
	o.Checks = nil
	if err == nil {
		for _, f := range o.Flows {
			for i, c := range evaluate(s, f) {
				if answered(i) {
					o.Checks = append(o.Checks, c)
				}
			}
		}
	}
	o.verdict(err)
}
