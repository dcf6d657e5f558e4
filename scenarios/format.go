// Package scenarios reads, validates and runs scenario files: YAML
// descriptions of one experiment (platforms, clock mode, topology,
// workload, specialization, a timeline of events and expectations).
//
// The Go types below are the format: their yaml tags name the keys, their
// doc comments are the documentation (scenarios/README.md walks through
// an annotated example), and the struct tags read by the decoder
// (decode.go) and the JSON Schema generator (schema.go) say what values
// each key takes:
//
//	required:"true"   the key must be present
//	enum:"NAME"       the value is one of the list NAME (enums.go)
//	min:"N" max:"N"   bounds of a number (inclusive)
//
// Units are in the key's name or its type: _bytes, _bps (bit/s), Duration
// (a Go duration string such as "250ms"), share (0..1).
package scenarios

import "time"

// Scenario is one file.
type Scenario struct {
	// Name identifies the scenario in summaries, bundles and JUnit.
	Name string `yaml:"name" required:"true"`
	// Description says what the scenario shows.
	Description string `yaml:"description"`
	// Platforms to run on (qemu.Names()); all of them when empty.
	Platforms []string `yaml:"platforms" enum:"platform"`
	// Clock is "count" (the guest runs under -icount: deterministic
	// instruction counts, no network) or "network" (real-time guest on
	// vnet's topology). Default count.
	Clock string `yaml:"clock" enum:"clock"`
	// Slow marks scenarios that make test runs on i486 only (make
	// reproduce and make scenarios run them on every platform).
	Slow bool `yaml:"slow"`
	// Topology edits vnet's default topology (network clock only).
	Topology Topology `yaml:"topology"`
	// Workload is what the guest's application sends.
	Workload Workload `yaml:"workload" required:"true"`
	// Specialization is how the flow gets its residual.
	Specialization Specialization `yaml:"specialization"`
	// Timeline holds events during the workload.
	Timeline []Event `yaml:"timeline"`
	// Expect holds the checks of the outcome.
	Expect []Expectation `yaml:"expect"`
	// ExpectFailure marks a negative control: the reason it must fail.
	// The scenario passes when at least one expectation fails, and
	// fails when all hold.
	ExpectFailure string `yaml:"expect_failure"`
}

// Topology edits vnet.DefaultTopology for the platform: its hosts
// (server, sink), router (SLIP guests) and links keep their names and
// addresses; a link listed here gets the values given.
type Topology struct {
	Links []LinkEdit `yaml:"links"`
}

// LinkEdit changes one link of the default topology.
type LinkEdit struct {
	// Name is the link: spec, data or slip (vnet's SpecLink, DataLink,
	// SLIPLink).
	Name string `yaml:"name" required:"true" enum:"link"`
	// RateBps is the link's rate in bit/s (0: unshaped). Keys left out
	// keep the default topology's value.
	RateBps *int64 `yaml:"rate_bps" min:"0"`
	// Delay is the one-way delay.
	Delay *Duration `yaml:"delay"`
	// Loss is the share of frames lost in each direction (0..1).
	Loss *float64 `yaml:"loss" min:"0" max:"1"`
	// QueueBytes limits each direction's queue (bytes; 0: vnet's default).
	QueueBytes *int `yaml:"queue_bytes" min:"0"`
}

// Workload is the application's traffic: Count sends of each size.
type Workload struct {
	// Protocol is udp or tcp.
	Protocol string `yaml:"protocol" required:"true" enum:"protocol"`
	// Path is the send path: kernel (sendto() on an unconnected socket),
	// generic (the specnet core's generic path) or specialized (the
	// flow's residual, through its token).
	Path string `yaml:"path" required:"true" enum:"path"`
	// SizesBytes are the payloads per send (bytes); one flow per size.
	SizesBytes []int `yaml:"sizes_bytes" required:"true" min:"0" max:"65507"`
	// Count is the timed sends per size; with Duration, the most it
	// sends (default then MaxDurationSends).
	Count int `yaml:"count" min:"1" max:"1000000"`
	// Warmup is the untimed sends before them.
	Warmup int `yaml:"warmup" min:"0" max:"1000000"`
	// Duration bounds the timed sends by time (whole ms), Count at most.
	// Count clock: virtual time (-icount: instructions), the guest's
	// CLOCK_MONOTONIC from its first timed send. Network clock: host
	// time from the host writing the send step to the agent (warm-up
	// included) to its "stop" on the control channel; the guest's clock
	// strays from the host's there (the p3's ran 9 times fast).
	Duration Duration `yaml:"duration"`
	// ADUBytes is the flow's committed payload per send; each size's own
	// when 0.
	ADUBytes int `yaml:"adu_bytes" min:"0" max:"65507"`
}

// Specialization says where the residual comes from and what a send
// does when a guard finds the specialized path's assumptions broken.
type Specialization struct {
	// Mode is none (no residual), local (specialized on the host without
	// the network: our guests run no compiler) or remote (fetched from
	// the specialization server over the spec link; network clock).
	Mode string `yaml:"mode" enum:"mode"`
	// GuardPolicy is reinforce, respecialize, fallback (the generic path
	// serves the send) or refuse (the send fails, EINVAL).
	GuardPolicy string `yaml:"guard_policy" enum:"policy"`
	// DisableGuards turns guards off (the core's test-only module
	// parameters), for negative controls.
	DisableGuards []string `yaml:"disable_guards" enum:"guard"`
}

// Event is one entry of the timeline. It happens At a time after the
// workload's first timed send, or after AfterPackets timed sends; the
// other keys depend on the event (eventKeys in enums.go).
type Event struct {
	Event string `yaml:"event" required:"true" enum:"event"`
	// At is the event's time after the first timed send, for events on
	// vnet's links (network clock: host time, within the workload's
	// duration).
	At Duration `yaml:"at"`
	// AfterPackets places the event after this many timed sends of each
	// flow (within the workload's count); a link event placed so happens
	// once the agent reported those sends, before the next ones.
	AfterPackets int `yaml:"after_packets" min:"0"`
	// Link names the link of link-down, link-up and link-rate.
	Link string `yaml:"link" enum:"link"`
	// RateBps is link-rate's new rate (bit/s).
	RateBps int64 `yaml:"rate_bps" min:"1"`
	// MTUBytes is mtu-change's path MTU (bytes).
	MTUBytes int `yaml:"mtu_bytes" min:"68" max:"65535"`
	// Level, Option and Value are setsockopt's int option.
	Level  int `yaml:"level" min:"0"`
	Option int `yaml:"option" min:"0"`
	Value  int `yaml:"value" min:"0"`
	// SizeBytes is wrong-length-send's payload (bytes).
	SizeBytes int `yaml:"size_bytes" min:"0" max:"65507"`
	// Which is what socket-close closes: the flow socket (flow) or a dup
	// of it (dup) from the agent's thread between two sends, or (thread)
	// the agent's closerace: Rounds rounds, each a fresh socket with a
	// token of the flow's residual that a second task sharing the
	// descriptor table closes while the agent sends through the token.
	Which string `yaml:"which" enum:"descriptor"`
	// Rounds is the closerace's rounds (which: thread; default 16).
	Rounds int `yaml:"rounds" min:"1" max:"1000"`
}

// Expectation is one check of the outcome; which keys it takes depends
// on Check (expectKeys in enums.go).
type Expectation struct {
	Check string `yaml:"check" required:"true" enum:"check"`
	// AtLeast and AtMost bound the measured value (unit per check).
	AtLeast *float64 `yaml:"at_least"`
	AtMost  *float64 `yaml:"at_most"`
	// Equals is the value a check must measure exactly.
	Equals *float64 `yaml:"equals"`
	// Event is the timeline index an errno or arrive-at check reads.
	Event *int `yaml:"event" min:"0"`
	// Errno names the errno an event's step must report (EBUSY, 0, ...).
	Errno string `yaml:"errno" enum:"errno"`
	// Guard is the counter guard-fired-within reads: close, route, pmtu.
	Guard string `yaml:"guard" enum:"guard"`
	// WithinPackets bounds guard-fired-within: sends after the event.
	WithinPackets *int `yaml:"within_packets" min:"0"`
	// Over is throughput-gain-at-least's baseline path.
	Over string `yaml:"over" enum:"path"`
	// Where is arrive-at's place: router1 or router2 (the flow's
	// datagrams that router forwarded: a route-change on the network
	// clock puts the flow behind vnet's two routers), sink (those the
	// sink got) or nowhere (those the guest sent that the sink did not
	// get).
	Where string `yaml:"where" enum:"where"`
	// Phase is arrive-at's window: the datagrams sent after the event
	// (default) or before it (from the boot's first send).
	Phase string `yaml:"phase" enum:"phase"`
}

// Duration is a Go duration string in YAML ("250ms", "2s").
type Duration struct{ time.Duration }
