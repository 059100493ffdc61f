package dispatchtest

import (
	"context"
	"net"
	"sync"
)

// PipeNet is an in-memory network for a testing/synctest bubble, where
// goroutines blocked on real sockets would keep time from moving: HTTP/1.1
// runs for real (http.Server on the PipeNet as its listener, http.Transport
// dialling with Dial) over net.Pipe.
type PipeNet struct {
	host   string
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

// NewPipeNet returns a PipeNet whose address is host ("shop.test:80").
func NewPipeNet(host string) *PipeNet {
	return &PipeNet{host: host, conns: make(chan net.Conn), closed: make(chan struct{})}
}

// Accept implements net.Listener.
func (p *PipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.closed:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (p *PipeNet) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// Addr implements net.Listener.
func (p *PipeNet) Addr() net.Addr { return pipeAddr(p.host) }

// Dial connects to the listener; use it as http.Transport.DialContext.
func (p *PipeNet) Dial(ctx context.Context, _, _ string) (net.Conn, error) {
	c, s := net.Pipe()
	select {
	case p.conns <- s:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.closed:
		return nil, net.ErrClosed
	}
}

type pipeAddr string

func (pipeAddr) Network() string  { return "pipe" }
func (a pipeAddr) String() string { return string(a) }
