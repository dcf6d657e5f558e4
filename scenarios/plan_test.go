package scenarios

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"specbed/images"
	"specbed/qemu"
)

// TestCountPlan compiles the timeline of a guard scenario into agent
// steps: the sends cut at each mark, counters there, the event after.
func TestCountPlan(t *testing.T) {
	tests := []struct {
		file     string
		residual string
		want     []string
	}{
		{"guards/socket-close.yaml", "specnet_r_1", []string{
			"insmod,path=/lib/modules/specnet.ko",
			"insmod,path=/lib/modules/residual.ko",
			"net,dev=dummy0,addr=10.0.0.1,prefix=24,hwaddr=02:00:00:00:00:01",
			"customize,dst=10.0.0.2,port=9,sport=5000,adu=64",
			"load,slot=0,name=specnet_r_1,policy=fallback",
			"counters",
			"send,path=special,size=64,count=100,warmup=20,slot=0",
			"counters",
			"close",
			"counters",
			"send,path=special,size=64,count=1,warmup=0,slot=0",
			"counters",
			"send,path=special,size=64,count=99,warmup=0,slot=0",
			"counters",
		}},
		{"paper/udp-generic-overhead.yaml", "", []string{
			"insmod,path=/lib/modules/specnet.ko",
			"net,dev=dummy0,addr=10.0.0.1,prefix=24,hwaddr=02:00:00:00:00:01",
			"customize,dst=10.0.0.2,port=9,sport=5000,adu=64",
			"send,path=sendto,size=64,count=1000,warmup=100",
			"counters",
			"send,path=generic,size=64,count=1000,warmup=100",
			"counters",
		}},
		// The oops event loads images/modules/oops between two sends.
		{"faults/guest-oops.yaml", "", []string{
			"insmod,path=/lib/modules/specnet.ko",
			"net,dev=dummy0,addr=10.0.0.1,prefix=24,hwaddr=02:00:00:00:00:01",
			"customize,dst=10.0.0.2,port=9,sport=5000,adu=64",
			"counters",
			"send,path=sendto,size=64,count=100,warmup=0",
			"counters",
			"insmod,path=/lib/modules/oops.ko",
			"counters",
			"send,path=sendto,size=64,count=100,warmup=0",
			"counters",
		}},
		// The server is down: the plan hands over to the control channel
		// at the fetch, and the application sends through the generic
		// path (no load, no residual).
		{"faults/server-down.yaml", "", []string{
			"insmod,path=/lib/modules/specnet.ko",
			"net,dev=eth0,addr=10.1.0.2,prefix=24",
			"net,dev=eth1,addr=10.2.0.2,prefix=24,neigh=10.2.0.1,lladdr=52:54:00:ff:00:02",
			"customize,dst=10.2.0.1,port=9,sport=5000,adu=64,out=/tmp/context.json",
			"ctl",
			"ctl: fetch,server=10.1.0.1,port=7070,build=0123456789abcdef,decl=udp,ctx=/tmp/context.json,out=/tmp/residual.ko",
			"ctl: counters",
			"ctl: send,path=generic,size=64,count=1000,warmup=0",
			"ctl: counters",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			s, err := Load(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			if s.Clock == ClockCount {
				got = countPlan(s, s.Workload.SizesBytes[0], tc.residual).Steps()
			} else {
				open := fetchOpen(i486(t), &images.Kernel{Key: "0123456789abcdef0123"}, 64)
				p := unavailablePlan(s, 64, open[:len(open)-1])
				got = p.Steps()
				for _, st := range p.steps[p.ctlFrom:] {
					got = append(got, "ctl: "+st.step)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func i486(t *testing.T) *qemu.Platform {
	t.Helper()
	p, err := qemu.Lookup("i486")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNotRunnable: valid scenarios that need what the runner lacks say
// what and why instead of running something else.
func TestNotRunnable(t *testing.T) {
	const head = "name: x\nclock: network\nworkload:\n  protocol: udp\n  path: specialized\n  sizes_bytes: [64]\n"
	tests := []struct{ name, yaml, what string }{
		{"tcp on the count clock", "name: x\nworkload:\n  protocol: tcp\n  path: kernel\n  sizes_bytes: [2896]\n", "protocol tcp on the count clock"},
		{"tcp sizes", "name: x\nclock: network\nplatforms: [p3]\nworkload:\n  protocol: tcp\n  path: kernel\n  sizes_bytes: [1448, 2896]\n", "protocol tcp with several sizes"},
		{"arrive-at at a time", head + "  duration: 5s\ntimeline:\n  - event: link-down\n    link: data\n    at: 1s\nexpect:\n  - check: arrive-at\n    event: 0\n    where: nowhere\n    equals: 0\n", "arrive-at in a workload bounded by duration"},
		{"respecialize", head + "specialization:\n  mode: remote\n  guard_policy: respecialize\n", "guard policy respecialize"},
		{"route over routers, remote", strings.Replace(strings.Replace(head, "clock: network\n", "clock: network\nplatforms: [i486]\n", 1), "sizes_bytes: [64]\n", "sizes_bytes: [64]\nspecialization:\n  mode: remote\n", 1) + "timeline:\n  - event: route-change\n    after_packets: 1\n", "timeline[0] route-change"},
		{"mtu on the network", head + "timeline:\n  - event: mtu-change\n    mtu_bytes: 576\n    after_packets: 1\n", "timeline[0] mtu-change"},
	}
	for _, tc := range tests {
		s, err := Parse(tc.name, []byte(tc.yaml))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var nr *NotRunnableError
		if err := runnable(s); !errors.As(err, &nr) || nr.What != tc.what || nr.Why == "" {
			t.Errorf("%s: runnable() = %v, want a NotRunnableError for %q with a reason", tc.name, err, tc.what)
		}
	}
}

// runnableFiles are the library's scenarios the runner runs today.
func runnableFiles(t *testing.T) []string {
	var out []string
	for _, f := range libraryFiles(t) {
		s, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if runnable(s) == nil {
			out = append(out, f)
		}
	}
	return out
}

// TestLinkEventPlan places a scenario's link events between the agent's
// steps: the plan hands over to the control channel at the first send,
// and each event comes before the step after its mark's counters.
func TestLinkEventPlan(t *testing.T) {
	s, err := Load("faults/data-link-down.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := flowSteps(s, 64, residualNames{first: "specnet_r_1"}, netOpen(i486(t), 64))
	got := planLines(s, p)
	want := []string{
		"insmod,path=/lib/modules/specnet.ko",
		"insmod,path=/lib/modules/residual.ko",
		"net,dev=eth0,addr=10.1.0.2,prefix=24",
		"net,dev=eth1,addr=10.2.0.2,prefix=24,neigh=10.2.0.1,lladdr=52:54:00:ff:00:02",
		"customize,dst=10.2.0.1,port=9,sport=5000,adu=64",
		"load,slot=0,name=specnet_r_1,policy=fallback",
		"ctl",
		"counters",
		"send,path=special,size=64,count=400,warmup=100,slot=0",
		"counters",
		"host: link-down",
		"send,path=special,size=64,count=300,warmup=0,slot=0",
		"counters",
		"host: link-up",
		"send,path=special,size=64,count=300,warmup=0,slot=0",
		"counters",
	}
	if !slices.Equal(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// planLines is p's steps with the host's acts ("host: EVENT") before the
// step they precede and "ctl" where the control channel takes over.
func planLines(s *Scenario, p *flowPlan) []string {
	var got []string
	for i, st := range p.steps {
		for _, e := range p.hostActs[i] {
			got = append(got, "host: "+s.Timeline[e].Event)
		}
		if i == p.ctlFrom {
			got = append(got, "ctl")
		}
		got = append(got, st.step)
	}
	return got
}

// TestArriveAtPlan: a route change on the network clock opens the flow
// to the far sink through router 1, and the host counts the arrivals
// before the agent moves the route to router 2.
func TestArriveAtPlan(t *testing.T) {
	s, err := Load("guards/route-change-network.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := flowSteps(s, 64, residualNames{first: "specnet_r_1"}, routerOpen(64))
	got := planLines(s, p)
	want := []string{
		"insmod,path=/lib/modules/specnet.ko",
		"insmod,path=/lib/modules/residual.ko",
		"net,dev=eth1,addr=10.2.0.2,prefix=24,neigh=10.2.0.1,lladdr=52:54:00:ff:02:01",
		"route,op=add,dst=10.4.0.0,prefix=24,gw=10.2.0.1",
		"customize,dst=10.4.0.9,port=9,sport=5000,adu=64",
		"load,slot=0,name=specnet_r_1,guard=reinforce",
		"ctl",
		"counters",
		"send,path=special,size=64,count=50,warmup=10,slot=0",
		"counters",
		"host: route-change",
		"route,op=replace,dst=10.4.0.0,prefix=24,gw=10.2.0.3",
		"counters",
		"send,path=special,size=64,count=1,warmup=0,slot=0", // guard-fired-within's window
		"counters",
		"send,path=special,size=64,count=49,warmup=0,slot=0",
		"counters",
	}
	if !slices.Equal(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestArrivedAt reads arrive-at's count from the arrivals the host took
// at the event and at the end.
func TestArrivedAt(t *testing.T) {
	f := &FlowResult{
		Attempted:       110,
		AttemptedBefore: map[int]int{0: 60},
		ArrivalsAtEvent: map[int]Arrivals{0: {WhereSink: 60, WhereRouter1: 60, WhereRouter2: 0}},
		ArrivalsAtEnd:   Arrivals{WhereSink: 107, WhereRouter1: 60, WhereRouter2: 47},
	}
	tests := []struct {
		where, phase string
		want         float64
	}{
		{WhereRouter1, PhaseBefore, 60},
		{WhereRouter2, PhaseBefore, 0},
		{WhereRouter1, PhaseAfter, 0},
		{WhereRouter2, PhaseAfter, 47},
		{WhereSink, PhaseAfter, 47},
		{WhereNowhere, PhaseAfter, 3},
		{WhereNowhere, PhaseBefore, 0},
	}
	for _, tc := range tests {
		if got, _ := arrivedAt(f, 0, tc.where, tc.phase); got != tc.want {
			t.Errorf("%s %s: %g, want %g", tc.where, tc.phase, got, tc.want)
		}
	}
	if got, detail := arrivedAt(&FlowResult{}, 0, WhereSink, PhaseAfter); got != 0 || !strings.Contains(detail, "did not count") {
		t.Errorf("no arrivals: %g (%s), want 0 and why", got, detail)
	}
}

// TestTCPPlan: a TCP workload connects to the stream checker with its
// window warm-up, sends with the flow's flags, and goes over the control
// channel so that the host can wait for every byte before the guest ends.
func TestTCPPlan(t *testing.T) {
	s, err := Load("paper/tcp-network-specialized.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := flowSteps(s, 2896, residualNames{first: "specnet_r_1"}, tcpOpen(i486(t), 2896))
	got := p.Steps()
	want := []string{
		"insmod,path=/lib/modules/specnet.ko",
		"insmod,path=/lib/modules/residual.ko",
		"net,dev=eth1,addr=10.2.0.2,prefix=24,neigh=10.2.0.1,lladdr=52:54:00:ff:00:02",
		"customize,dst=10.2.0.1,port=5001,sport=5000,adu=2896,proto=tcp,flags=16512,warmup=260640,sndbuf=65536",
		"load,slot=0,name=specnet_r_1,policy=fallback",
		"ctl",
	}
	if !slices.Equal(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if send := p.steps[p.ctlFrom+1].step; send != "send,path=special,size=2896,count=300,warmup=30,slot=0,flags=16512" {
		t.Errorf("workload step %q", send)
	}
	// The window warm-up (90 ADUs) and the 330 sends.
	if p.streamBytes != 90*2896+330*2896 {
		t.Errorf("stream bytes %d, want %d", p.streamBytes, 420*2896)
	}
	// The SA-1110's SLIP line at MTU 1500 (MSS 1448) and a smaller warm-up.
	sa, err := qemu.Lookup("sa1100")
	if err != nil {
		t.Fatal(err)
	}
	var open []string
	for _, st := range tcpOpen(sa, 2896) {
		open = append(open, st.String())
	}
	if len(open) != 3 || open[1] != "mtu,dev=sl0,mtu=1500" || !strings.Contains(open[2], ",warmup=63712,") {
		t.Errorf("SLIP open %q, want sl0, its MTU 1500 and a 22-ADU warm-up", open)
	}
}

// TestDurationPlan: a workload bounded by time is one send step with the
// agent's time bound and the count as its most; link events placed by at
// wait for the workload's step on the host's timers.
func TestDurationPlan(t *testing.T) {
	s, err := Load("paper/udp-specialized-duration.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := flowSteps(s, 64, residualNames{first: "specnet_r_1"}, contextSteps(64))
	var sends []string
	for _, st := range p.steps {
		if st.role == roleWorkload {
			sends = append(sends, st.step)
		}
	}
	if want := []string{"send,path=special,size=64,count=1000000,warmup=20,slot=0,ms=20"}; !slices.Equal(sends, want) {
		t.Errorf("workload steps %q, want %q", sends, want)
	}
	if p.ctlFrom != 0 {
		t.Errorf("a count-clock plan with no host events goes over the control channel from step %d", p.ctlFrom)
	}
	s, err = Load("faults/data-link-down-timed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p = flowSteps(s, 64, residualNames{first: "specnet_r_1"}, netOpen(i486(t), 64))
	want := []timedAct{{event: 0, at: time.Second}, {event: 1, at: 2 * time.Second}}
	if !slices.Equal(p.timedActs, want) || len(p.hostActs) != 0 || p.ctlFrom == 0 || p.steps[p.ctlFrom].role == roleSetup {
		t.Errorf("timed acts %v, host acts %v, control from step %d; want %v, none, from the first send", p.timedActs, p.hostActs, p.ctlFrom, want)
	}
	// On the network clock the host stops the sends: the guest's clock
	// strays from the host's.
	for _, st := range p.steps {
		if st.role == roleWorkload && (st.step != "send,path=special,size=64,count=1000000,warmup=100,slot=0,stop=1" || st.stopAfter != 3*time.Second) {
			t.Errorf("network workload step %q, stop after %v; want stop=1 after 3s", st.step, st.stopAfter)
		}
	}
}

// TestFetchedPlan: a remote-mode flow needs no context boot: its
// measurement boot collects the context, fetches the residual, loads it
// and binds the token by the name the agent reads from the module file.
func TestFetchedPlan(t *testing.T) {
	s, err := Load("paper/remote-specialization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := flowSteps(s, 1024, residualNames{fetched: true}, fetchOpen(i486(t), &images.Kernel{Key: "0123456789abcdef0123"}, 1024))
	want := []string{
		"insmod,path=/lib/modules/specnet.ko",
		"net,dev=eth0,addr=10.1.0.2,prefix=24",
		"net,dev=eth1,addr=10.2.0.2,prefix=24,neigh=10.2.0.1,lladdr=52:54:00:ff:00:02",
		"customize,dst=10.2.0.1,port=9,sport=5000,adu=1024,out=/tmp/context.json",
		"fetch,server=10.1.0.1,port=7070,build=0123456789abcdef,decl=udp,ctx=/tmp/context.json,out=/tmp/residual.ko",
		"insmod,path=/tmp/residual.ko",
		"load,slot=0,ko=/tmp/residual.ko,policy=fallback",
		"counters",
		"send,path=special,size=1024,count=100,warmup=10,slot=0",
		"counters",
	}
	if got := p.Steps(); !slices.Equal(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
