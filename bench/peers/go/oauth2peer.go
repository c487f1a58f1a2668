// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// oauth2peer.go: the Go half of bench/run-peers: golang.org/x/oauth2's client-credentials
// client (clientcredentials.Config and its ReuseTokenSource), and the token server every
// client of the comparison talks to. The commands, flags and JSON output match
// bench/bench_peers.cpp:
//   server    a token endpoint on 127.0.0.1: tokens after -delay-ms, counted at /stats
//   read      ns per cached ReuseTokenSource.Token() call at -threads
//   stall     read latency across refreshes, -threads reading for -seconds
//   stampede  token requests made by -threads at cold start and at expiry
//   fetch     CPU time of one clientcredentials.Config.Token() fetch
// Built offline from Debian's golang-golang-x-oauth2-dev (GO111MODULE=off, GOPATH set
// to its gocode directory); bench/run-peers does that.
// SPDX-License-Identifier: MIT

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const (
	clientID     = "bench-client"
	clientSecret = "bench-secret"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: oauth2peer server|read|stall|stampede|fetch [-flag value]...")
		os.Exit(2)
	}
	command := os.Args[1]
	fs := flag.NewFlagSet(command, flag.ExitOnError)
	url := fs.String("url", "", "the token server, http://127.0.0.1:PORT")
	delayMs := fs.Int("delay-ms", 0, "server: delay before each token")
	expiresIn := fs.Int("expires-in", 3600, "server: token lifetime in seconds")
	fixed := fs.Bool("fixed", false, "server: the same token every time")
	threads := fs.Int("threads", 1, "threads (goroutines locked to OS threads)")
	seconds := fs.Float64("seconds", 40, "stall: how long to read")
	paceUs := fs.Int("pace-us", 1000, "stall: pause after each read")
	waitedMs := fs.Int("waited-ms", 10, "stall: a read this slow waited for a request")
	minTime := fs.Float64("min-time", 0.5, "read: the shortest timed run in seconds")
	header := fs.Bool("header", false, "read: also make the Authorization header value")
	lifetime := fs.Int("lifetime", 12, "stampede: the server's token lifetime in seconds")
	count := fs.Int("count", 1000, "fetch: fetches after a warm-up one")
	fs.Parse(os.Args[2:])

	var out map[string]interface{}
	switch command {
	case "server":
		serve(*delayMs, *expiresIn, *fixed)
		return
	case "read":
		out = read(*url, *threads, *minTime, *header)
	case "stall":
		out = stall(*url, *threads, time.Duration(*seconds*float64(time.Second)),
			time.Duration(*paceUs)*time.Microsecond, time.Duration(*waitedMs)*time.Millisecond)
	case "stampede":
		out = stampede(*url, *threads, time.Duration(*lifetime)*time.Second)
	case "fetch":
		out = fetch(*url, *count)
	default:
		fmt.Fprintln(os.Stderr, "oauth2peer: unknown command", command)
		os.Exit(2)
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "oauth2peer:", err)
	os.Exit(1)
}

// --- server ----------------------------------------------------------------------------

func serve(delayMs, expiresIn int, fixed bool) {
	var requests atomic.Uint64
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		_, _, basic := r.BasicAuth()
		if r.Method != http.MethodPost || r.ParseForm() != nil ||
			r.PostForm.Get("grant_type") != "client_credentials" ||
			(!basic && r.PostForm.Get("client_id") != clientID) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_request"}`)
			return
		}
		n := requests.Add(1)
		if fixed {
			n = 0
		}
		if delayMs > 0 {
			time.Sleep(time.Duration(delayMs) * time.Millisecond)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		// 43 characters, the length of a 256-bit opaque token in base64url.
		fmt.Fprintf(w, `{"access_token":"bench-%037d","token_type":"Bearer","expires_in":%d}`,
			n, expiresIn)
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"token_requests":%d}`, requests.Load())
	})
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	fmt.Printf("listening %s\n", listener.Addr())
	fail(http.Serve(listener, mux))
}

// --- clients ---------------------------------------------------------------------------

func config(base string) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		TokenURL:     base + "/token",
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
}

func tokenRequests(base string) uint64 {
	res, err := http.Get(base + "/stats")
	if err != nil {
		fail(err)
	}
	defer res.Body.Close()
	var stats struct {
		TokenRequests uint64 `json:"token_requests"`
	}
	if err := json.NewDecoder(res.Body).Decode(&stats); err != nil {
		fail(err)
	}
	return stats.TokenRequests
}

// together runs body(i) on n goroutines, each locked to its own OS thread, released at
// once when all are ready, and waits for them.
func together(n int, body func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			defer done.Done()
			runtime.LockOSThread()
			ready.Done()
			<-start
			body(i)
		}(i)
	}
	ready.Wait()
	close(start)
	done.Wait()
}

// read times calls of a warm ReuseTokenSource.Token() on threads at once, growing the
// calls per thread until a run lasts min-time. It reports the wall time per call with
// the calls of all threads together, as Google Benchmark's real time is, and per call on
// each thread. With header, each call also makes "Bearer <token>" as oauth2.Transport
// does for a request.
func read(base string, threads int, minTime float64, header bool) map[string]interface{} {
	ts := config(base).TokenSource(context.Background())
	if _, err := ts.Token(); err != nil {
		fail(err)
	}
	kept := make([]string, threads) // the last header of each thread, so that it is made
	for calls := 1000; ; calls *= 4 {
		begin := time.Now()
		together(threads, func(g int) {
			var last string
			for i := 0; i < calls; i++ {
				t, err := ts.Token()
				if err != nil {
					fail(err)
				}
				if header {
					last = t.Type() + " " + t.AccessToken
				}
			}
			kept[g] = last
		})
		took := time.Since(begin)
		if took.Seconds() >= minTime || calls > 1<<30 {
			return map[string]interface{}{
				"client": "go", "threads": threads, "calls": calls, "header": header,
				"ns_per_call":        float64(took.Nanoseconds()) / float64(calls*threads),
				"ns_per_thread_call": float64(took.Nanoseconds()) / float64(calls),
			}
		}
	}
}

func stall(base string, threads int, runFor, pace, waitedAt time.Duration) map[string]interface{} {
	ts := config(base).TokenSource(context.Background())
	first, err := ts.Token()
	if err != nil {
		fail(err)
	}
	before := tokenRequests(base)
	latencies := make([][]int64, threads)
	// Reads go on past -seconds until a reader has seen a new token (at most a minute
	// more), so that every run spans a refresh however slow the machine.
	end := time.Now().Add(runFor)
	var refreshed atomic.Bool
	together(threads, func(i int) {
		mine := make([]int64, 0, int(runFor/pace)+1)
		for now := time.Now(); now.Before(end) ||
			(!refreshed.Load() && now.Before(end.Add(time.Minute))); now = time.Now() {
			t, err := ts.Token()
			took := time.Since(now)
			if err != nil {
				fail(err)
			}
			mine = append(mine, took.Nanoseconds())
			if t.AccessToken != first.AccessToken {
				refreshed.Store(true)
			}
			time.Sleep(pace)
		}
		latencies[i] = mine
	})
	var all []int64
	for _, v := range latencies {
		all = append(all, v...)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	at := func(q float64) int64 {
		i := int(q * float64(len(all)))
		if i >= len(all) {
			i = len(all) - 1
		}
		return all[i]
	}
	slow := sort.Search(len(all), func(i int) bool { return all[i] >= waitedAt.Nanoseconds() })
	waited := len(all) - slow
	return map[string]interface{}{
		"client": "go", "reads": len(all), "p50_ns": at(0.50), "p99_ns": at(0.99),
		"max_ns": all[len(all)-1], "waited": waited, "refreshed": refreshed.Load(),
		"token_requests": tokenRequests(base) - before,
	}
}

func stampede(base string, threads int, lifetime time.Duration) map[string]interface{} {
	ts := config(base).TokenSource(context.Background())
	var failures atomic.Int64
	out := map[string]interface{}{"client": "go", "threads": threads}
	for _, phase := range []string{"cold", "expiry"} {
		before := tokenRequests(base)
		begin := time.Now()
		together(threads, func(int) {
			if _, err := ts.Token(); err != nil {
				fmt.Fprintln(os.Stderr, "oauth2peer stampede:", err)
				failures.Add(1)
			}
		})
		out[phase] = tokenRequests(base) - before
		out[phase+"_ms"] = time.Since(begin).Milliseconds()
		if phase == "cold" {
			// Past the token's expiry, counted from when it was requested.
			time.Sleep(lifetime + 500*time.Millisecond)
		}
	}
	out["failures"] = failures.Load()
	if failures.Load() != 0 {
		line, _ := json.Marshal(out)
		fmt.Println(string(line))
		os.Exit(1)
	}
	return out
}

func cpuSeconds() float64 {
	var use syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &use)
	return float64(use.Utime.Sec+use.Stime.Sec) + float64(use.Utime.Usec+use.Stime.Usec)/1e6
}

func fetch(base string, count int) map[string]interface{} {
	cfg := config(base)
	ctx := context.Background()
	get := func() int {
		t, err := cfg.Token(ctx)
		if err != nil {
			fail(err)
		}
		return len(t.AccessToken)
	}
	bytes := get()
	cpu0 := cpuSeconds()
	begin := time.Now()
	for i := 0; i < count; i++ {
		bytes += get()
	}
	cpu := cpuSeconds() - cpu0
	wall := time.Since(begin)
	perFetch := func(total float64) float64 {
		if count == 0 {
			return 0
		}
		return total / float64(count)
	}
	return map[string]interface{}{
		"client": "go", "count": count, "token_bytes": bytes,
		"cpu_us": perFetch(cpu * 1e6), "wall_us": perFetch(float64(wall.Nanoseconds()) / 1e3),
	}
}
