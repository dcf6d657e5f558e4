package qemu_test

import (
	"testing"
	"time"

	"specbed/qemu"
	"specbed/results"
)

// warmBootTarget is the wall time a warm boot should stay under, in
// seconds: QEMU start to the agent's ready line.
const warmBootTarget = 2.0

// bootBench is one platform's line of out/bench/boot.json.
type bootBench struct {
	Platform string `json:"platform"`
	// Boots is the number of timed warm boots (after one untimed boot
	// that warms the page cache).
	Boots int `json:"boots"`
	// ReadySeconds: host wall time from QEMU's start to "@@specbed
	// ready", mean, min and max over the boots (seconds).
	ReadySeconds    float64 `json:"ready_seconds_mean"`
	ReadySecondsMin float64 `json:"ready_seconds_min"`
	ReadySecondsMax float64 `json:"ready_seconds_max"`
	// RunSeconds: wall time of the whole run to QEMU's exit, mean (s).
	RunSeconds   float64 `json:"run_seconds_mean"`
	TargetSecond float64 `json:"target_ready_seconds"`
	// KernelBuildSeconds is the recorded wall time of the cached kernel's
	// build; KernelBuildIncremental tells whether it reused objects of an
	// earlier build (false: cold); KernelBuildJobs is its -j.
	KernelBuildSeconds     float64 `json:"kernel_build_seconds"`
	KernelBuildIncremental bool    `json:"kernel_build_incremental"`
	KernelBuildJobs        int     `json:"kernel_build_jobs"`
}

// BenchmarkWarmBoot boots each platform's cached kernel with a plan that
// does nothing and measures the boot to the agent's ready line. It
// writes out/bench/boot.json. The time is not asserted: it depends on the
// host and its load.
func BenchmarkWarmBoot(b *testing.B) {
	e := newEnv(b)
	records, err := e.b.Kernels()
	if err != nil {
		b.Fatal(err)
	}
	// The framework may call a sub-benchmark several times with a
	// growing b.N: the last call's line stands.
	lines := map[string]bootBench{}
	for _, p := range qemu.All() {
		b.Run(p.Name, func(b *testing.B) {
			k := e.kernel(b, p)
			cfg := e.config(b, p, []string{"sleep,ms=0"})
			b.StopTimer()
			if _, err := run(b, cfg); err != nil {
				b.Fatalf("warm-up boot: %v", err)
			}
			line := bootBench{Platform: p.Name, Boots: b.N, TargetSecond: warmBootTarget,
				KernelBuildSeconds: k.BuildSeconds, ReadySecondsMin: -1}
			for _, r := range records {
				if r.Key == k.Key {
					line.KernelBuildIncremental, line.KernelBuildJobs = r.Incremental, r.Jobs
				}
			}
			var runTotal time.Duration
			for i := 0; i < b.N; i++ {
				b.StartTimer()
				start := time.Now()
				res, err := run(b, cfg)
				runTotal += time.Since(start)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				line.ReadySeconds += res.ReadySeconds / float64(b.N)
				if line.ReadySecondsMin < 0 || res.ReadySeconds < line.ReadySecondsMin {
					line.ReadySecondsMin = res.ReadySeconds
				}
				line.ReadySecondsMax = max(line.ReadySecondsMax, res.ReadySeconds)
			}
			line.RunSeconds = runTotal.Seconds() / float64(b.N)
			b.ReportMetric(line.ReadySeconds, "s-to-ready/op")
			b.ReportMetric(line.KernelBuildSeconds, "s-kernel-build")
			lines[p.Name] = line
		})
	}
	var report []bootBench
	for _, p := range qemu.All() {
		if line, ok := lines[p.Name]; ok {
			report = append(report, line)
		}
	}
	if _, err := results.WriteBench(e.b.Repo, "boot.json", report); err != nil {
		b.Fatal(err)
	}
}
