package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Config is one simulated point: a fleet of devices of one platform, each
// running one session of Sends sends of one size, fetching its residual
// from a shared server over its own link.
type Config struct {
	Platform string
	// CPUScale multiplies the platform's calibrated instruction rate
	// (1: the emulated CPU; instruction counts per send do not change).
	CPUScale float64
	// Link is each device's path to the server.
	Link Link
	// SizeBytes is the payload per send (bytes); Sends the session's
	// length (sends).
	SizeBytes int
	Sends     int
	// Devices start their sessions uniformly at random within
	// ArrivalSeconds (seconds of simulated time).
	Devices        int
	ArrivalSeconds float64
	// Workers are the server's compile slots (a FIFO queue of misses waits
	// for them); Contexts (0: one per device, nothing to share) is how many distinct
	// flow contexts (module cache keys) the fleet's flows fall into, each
	// device's drawn uniformly.
	Workers  int
	Contexts int
	// GuardAt is the send after which a guard finds the residual's
	// assumptions broken (0: never); the rest of the session takes the
	// generic path (fallback policy) after GuardInstructions of reaction.
	GuardAt           int
	GuardInstructions float64
	// Respecialize: the guard's event (a route change) is the respecialize
	// policy's, not the fallback's: the device sends through the generic
	// path while it collects the new route's context, fetches its residual
	// (a new cache key: a build, unless another device of the same flow
	// context asked first) and loads it, then through the new residual.
	Respecialize bool
	// Seed drives arrivals, context draws and link losses.
	Seed uint64
}

// Result is what the fleet saw. Times are seconds of simulated time.
type Result struct {
	Config Config
	// FetchSeconds is the mean time from a session's start to its residual
	// loaded; MaxFetchSeconds the longest.
	FetchSeconds    float64
	MaxFetchSeconds float64
	// CacheHitRate is the share of requests answered from the module
	// cache (0..1), those that waited for another's build of their key
	// included, as the server reports them; Utilisation the compile
	// slots' busy share until the server's last answer (0..1; cached
	// answers, a few ms of analysis each, take no slot and are not in it).
	CacheHitRate float64
	Utilisation  float64
	// Gain is the sessions' mean throughput gain (kernel-path session
	// time over the specializing session's, 1: no gain).
	Gain float64
	// BreakEvenSends is the session length (sends) at which the mean
	// device's specialization pays for itself.
	BreakEvenSends float64
	// RespecializeSeconds is the mean time from the guard's firing to the
	// new residual loaded (Respecialize only): reaction, context, the
	// fetch over the link with the server's work, the load.
	// RespecializeGenericSends are the sends the device made through the
	// generic path meanwhile (mean; capped by the session's length).
	RespecializeSeconds      float64
	RespecializeGenericSends float64
	// Events is how many events the run processed.
	Events int
}

// costs are one config's per-device times (seconds).
type costs struct {
	kernelSend, specialSend, genericSend float64
	collect, load                        float64
	guard                                float64
	upload, download                     float64 // one attempt: Link.Upload, Link.Download
	cold, cached                         float64
}

func (m *Model) costs(c Config) (*Platform, costs, error) {
	p, err := m.Platform(c.Platform)
	if err != nil {
		return nil, costs{}, err
	}
	if p.Spec == nil {
		return nil, costs{}, fmt.Errorf("sim: platform %s has no specialization cost (bundle without figure 4(c))", p.Name)
	}
	if c.CPUScale <= 0 || c.Link.RateBps <= 0 {
		return nil, costs{}, fmt.Errorf("sim: config %+v: want CPUScale > 0 and a link rate", c)
	}
	ips := p.InstructionsPerSecond * c.CPUScale
	var k costs
	for _, pc := range []struct {
		path string
		dst  *float64
	}{{"sendto", &k.kernelSend}, {"special", &k.specialSend}, {"generic", &k.genericSend}} {
		l, err := p.Path(pc.path)
		if err != nil {
			return nil, costs{}, err
		}
		*pc.dst = l.At(c.SizeBytes) / ips
	}
	s := p.Spec
	k.collect, k.load, k.guard = s.CollectInstructions/ips, s.LoadInstructions/ips, c.GuardInstructions/ips
	k.upload, k.download = c.Link.Upload(s), c.Link.Download(s)
	k.cold, k.cached = s.ColdSeconds, s.CachedSeconds
	return p, k, nil
}

// device is one device's progress through its fetches.
type device struct {
	start   float64
	context int
	readyAt float64 // residual loaded
	// guardAt is when the guard fired (Respecialize: the second fetch
	// follows), respecReady when the new residual was loaded; fetches
	// counts the device's fetches so far.
	guardAt, respecReady float64
	fetches              int
}

// respecializeKey is the cache key of a flow context after the route
// change: flows that shared a context share the new one too, and no new
// one is a key of the first fetches (those are below contexts).
func respecializeKey(context, contexts, devices int) int {
	return max(contexts, devices) + context
}

// server is specializer/server's request handling: a hit is answered at
// once (analysis only); a miss takes one of Workers compile slots, in FIFO
// order; a miss for a key already being built waits for that build and is
// then answered from the cache ("one build per key").
type server struct {
	free     int
	queue    []int         // devices whose build waits for a slot
	cache    map[int]bool  // built keys
	building map[int][]int // key -> devices waiting for its build
	hits     int
	requests int
	busy     float64 // compile slot seconds
	last     float64
}

// Run simulates the fleet.
func (m *Model) Run(c Config) (*Result, error) {
	_, k, err := m.costs(c)
	if err != nil {
		return nil, err
	}
	if c.Devices < 1 || c.Workers < 1 || c.Contexts < 0 {
		return nil, fmt.Errorf("sim: config: want at least one device and worker and no negative contexts, have %d, %d, %d", c.Devices, c.Workers, c.Contexts)
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x5eed))
	devs := make([]device, c.Devices)
	var s scheduler
	for i := range devs {
		devs[i] = device{start: rng.Float64() * c.ArrivalSeconds, context: i}
		if c.Contexts > 0 {
			devs[i].context = rng.IntN(c.Contexts)
		}
		s.at(devs[i].start+k.collect, collected, i)
	}
	srv := &server{free: c.Workers, cache: map[int]bool{}, building: map[int][]int{}}
	build := func(now float64, d int) {
		srv.free--
		srv.busy += k.cold
		s.at(now+k.cold, built, d)
	}
	hit := func(now float64, d int) {
		srv.hits++
		s.at(now+k.cached, served, d)
	}
	res := &Result{Config: c}
	for {
		e, ok := s.next()
		if !ok {
			break
		}
		res.Events++
		d := &devs[e.device]
		switch e.kind {
		case collected:
			s.at(e.at+transfer(rng, k.upload, c.Link), arrived, e.device)
		case arrived:
			srv.requests++
			switch waiting, inFlight := srv.building[d.context]; {
			case srv.cache[d.context]:
				hit(e.at, e.device)
			case inFlight:
				srv.building[d.context] = append(waiting, e.device)
			case srv.free > 0:
				srv.building[d.context] = nil
				build(e.at, e.device)
			default:
				srv.building[d.context] = nil
				srv.queue = append(srv.queue, e.device)
			}
		case built:
			srv.cache[d.context] = true
			srv.free++
			srv.last = math.Max(srv.last, e.at)
			for _, w := range srv.building[d.context] {
				hit(e.at, w)
			}
			delete(srv.building, d.context)
			if len(srv.queue) > 0 {
				next := srv.queue[0]
				srv.queue = srv.queue[1:]
				build(e.at, next)
			}
			s.at(e.at+transfer(rng, k.download, c.Link), downloaded, e.device)
		case served:
			srv.last = math.Max(srv.last, e.at)
			s.at(e.at+transfer(rng, k.download, c.Link), downloaded, e.device)
		case downloaded:
			d.fetches++
			if d.fetches > 1 {
				d.respecReady = e.at + k.load
				continue
			}
			d.readyAt = e.at + k.load
			if at, ok := guardTime(k, c, d.readyAt, d.readyAt-d.start-k.collect-k.load); ok && c.Respecialize {
				d.guardAt = at
				d.context = respecializeKey(d.context, c.Contexts, c.Devices)
				s.at(at+k.collect, collected, e.device)
			}
		}
	}
	var gain, wait float64
	for _, d := range devs {
		f := d.readyAt - d.start
		res.FetchSeconds += f
		res.MaxFetchSeconds = math.Max(res.MaxFetchSeconds, f)
		w := f - k.collect - k.load
		wait += w
		var respecWait float64
		if d.fetches > 1 {
			res.RespecializeSeconds += d.respecReady - d.guardAt
			respecWait = d.respecReady - d.guardAt - k.collect - k.load
			res.RespecializeGenericSends += genericWhilePending(k, c, w, respecWait)
		}
		gain += float64(c.Sends) * k.kernelSend / sessionSeconds(k, c, w, respecWait)
	}
	n := float64(c.Devices)
	res.FetchSeconds /= n
	res.RespecializeSeconds /= n
	res.RespecializeGenericSends /= n
	res.Gain = gain / n
	res.BreakEvenSends = breakEven(k, wait/n)
	res.CacheHitRate = float64(srv.hits) / float64(srv.requests)
	if srv.last > 0 {
		res.Utilisation = srv.busy / (srv.last * float64(c.Workers))
	}
	return res, nil
}

// transfer is one message's time over the link: each attempt is lost with
// the link's loss per frame (the message's frames, 1500 bytes each, must all
// pass), and a lost attempt waits a retransmission timeout (one second or
// four round trips, the larger, like TCP's minimum) before the next.
func transfer(rng *rand.Rand, once float64, l Link) float64 {
	if l.Loss <= 0 {
		return once
	}
	frames := math.Max(1, math.Ceil((once-l.DelaySeconds)*l.RateBps/8/1500))
	pass := math.Pow(1-l.Loss, frames)
	rto := math.Max(1, 8*l.DelaySeconds)
	t := once
	for rng.Float64() >= pass {
		t += rto
	}
	return t
}

// guardTime is when the guard fires in a session whose first fetch made
// the device wait wait seconds and whose residual was loaded at ready:
// after the residual's share of the first GuardAt sends and the guard's
// reaction. ok is false when no guard fires within the session's sends,
// or when the session ended before the residual came.
func guardTime(k costs, c Config, ready, wait float64) (at float64, ok bool) {
	early := math.Floor(wait / k.kernelSend)
	if c.GuardAt <= 0 || c.GuardAt >= c.Sends || early >= float64(c.Sends) {
		return 0, false
	}
	return ready + math.Max(0, float64(c.GuardAt)-early)*k.specialSend + k.guard, true
}

// genericWhilePending is how many sends go through the generic path
// between the guard and the new residual (Respecialize): those that fit in
// the respecialization's wait for the link and server (respecWait
// seconds), within the sends the session has left.
func genericWhilePending(k costs, c Config, wait, respecWait float64) float64 {
	left := float64(c.Sends) - math.Max(float64(c.GuardAt), math.Floor(wait/k.kernelSend))
	return math.Max(0, math.Min(left, math.Floor(respecWait/k.genericSend)))
}

// sessionSeconds is the session's time when the device specializes: it
// collects the context, sends through the kernel's path while the request
// is away (wait seconds), loads the module and sends the rest through the
// residual, or through the generic path past a guard's firing: for the
// rest under the fallback policy; under Respecialize until the new
// residual is in (respecWait seconds of link and server, plus the new
// context's collection and the load), then through it.
func sessionSeconds(k costs, c Config, wait, respecWait float64) float64 {
	early := math.Floor(wait / k.kernelSend)
	if early >= float64(c.Sends) {
		return k.collect + float64(c.Sends)*k.kernelSend // done before the module came
	}
	t := k.collect + early*k.kernelSend + k.load
	rest := float64(c.Sends) - early
	if c.GuardAt <= 0 || float64(c.GuardAt) >= float64(c.Sends) {
		return t + rest*k.specialSend
	}
	special := math.Max(0, float64(c.GuardAt)-early)
	t += special*k.specialSend + k.guard
	rest -= special
	if !c.Respecialize {
		return t + rest*k.genericSend
	}
	generic := genericWhilePending(k, c, wait, respecWait)
	t += k.collect + generic*k.genericSend
	if rest -= generic; rest > 0 {
		t += k.load + rest*k.specialSend
	}
	return t
}

// breakEven is the session length (sends) past which specializing is
// faster than the kernel's path alone: the sends made during the wait are
// at the kernel's speed, and each later one saves kernelSend - specialSend
// until collect and load are paid back. +Inf when the residual is not
// faster.
func breakEven(k costs, wait float64) float64 {
	saving := k.kernelSend - k.specialSend
	if saving <= 0 {
		return math.Inf(1)
	}
	return math.Floor(wait/k.kernelSend) + (k.collect+k.load)/saving
}
