package pgtest

import (
	"net"
	"sync"
	"testing"
)

// FreezeProxy is a TCP proxy that can stop forwarding without closing
// anything, as a database whose process is stopped (SIGSTOP) looks from
// outside: connections are accepted, bytes are taken and held, nothing
// answers. Resumed, it forwards what it holds, also what a client sent
// before it closed, as the stopped database would read it from its socket.
type FreezeProxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	frozen   bool
	thawed   *sync.Cond
	wg       sync.WaitGroup
}

// NewFreezeProxy starts a proxy to upstream (host:port), closed when the
// test ends.
func NewFreezeProxy(t testing.TB, upstream string) *FreezeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &FreezeProxy{ln: ln, upstream: upstream}
	p.thawed = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		p.Freeze(false)
		ln.Close()
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's address, host:port.
func (p *FreezeProxy) Addr() string { return p.ln.Addr().String() }

// Freeze stops (true) or resumes (false) forwarding.
func (p *FreezeProxy) Freeze(on bool) {
	p.mu.Lock()
	p.frozen = on
	p.mu.Unlock()
	if !on {
		p.thawed.Broadcast()
	}
}

// gate waits while the proxy is frozen.
func (p *FreezeProxy) gate() {
	p.mu.Lock()
	for p.frozen {
		p.thawed.Wait()
	}
	p.mu.Unlock()
}

func (p *FreezeProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.gate() // a frozen database answers no new connection either
			up, err := net.Dial("tcp", p.upstream)
			if err != nil {
				c.Close()
				return
			}
			var both sync.WaitGroup
			both.Add(2)
			go func() { defer both.Done(); p.pipe(up, c) }()
			go func() { defer both.Done(); p.pipe(c, up) }()
			both.Wait()
			c.Close()
			up.Close()
		}()
	}
}

// pipe copies src to dst chunk by chunk, each chunk held while frozen; at
// the end of src it closes dst's write side.
func (p *FreezeProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.gate()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	p.gate()
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}
