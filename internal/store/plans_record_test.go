package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
)

// A recorder keeps the statements the store sends to the database while a
// method is being driven (TestQueryPlans), with that method's name: the
// statements checked are the store's own, whatever code builds them.
type recorder struct {
	mu     sync.Mutex
	method string // being driven; "" records nothing
	stmts  []recorded
	seen   map[string]bool
}

type recorded struct {
	method string
	query  string
	args   []any
}

func newRecorder() *recorder { return &recorder{seen: map[string]bool{}} }

// driving names the method whose statements are recorded next ("": none).
func (r *recorder) driving(method string) {
	r.mu.Lock()
	r.method = method
	r.mu.Unlock()
}

func (r *recorder) note(query string, args []driver.NamedValue) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.method == "" {
		return
	}
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	key := fmt.Sprintf("%s\x00%s\x00%v", r.method, query, vals)
	if r.seen[key] {
		return
	}
	r.seen[key] = true
	r.stmts = append(r.stmts, recorded{method: r.method, query: query, args: vals})
}

func (r *recorder) statements() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.stmts...)
}

// wrap is Config.wrap: the store's pools connect through it.
func (r *recorder) wrap(c driver.Connector) driver.Connector { return recConnector{Connector: c, r: r} }

type recConnector struct {
	driver.Connector
	r *recorder
}

// fullConn is what both drivers' connections (modernc's, through the
// statement cache, and pgx's) offer.
type fullConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
}

func (c recConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	full, ok := conn.(fullConn)
	if !ok {
		conn.Close()
		return nil, errors.New("recorder: the driver's connection lacks a method database/sql uses")
	}
	return &recConn{fullConn: full, r: c.r}, nil
}

// recConn notes every statement run on it and passes it on.
type recConn struct {
	fullConn
	r *recorder
}

func (c *recConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.r.note(query, args)
	return c.fullConn.ExecContext(ctx, query, args)
}

func (c *recConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.r.note(query, args)
	return c.fullConn.QueryContext(ctx, query, args)
}

// PrepareContext notes the statement without arguments (the store does not
// prepare statements itself; EXPLAIN then fails, which says so).
func (c *recConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.r.note(query, nil)
	return c.fullConn.PrepareContext(ctx, query)
}

// IsValid is the connection's, for those that say (a connection that does
// not is valid).
func (c *recConn) IsValid() bool {
	if v, ok := c.fullConn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// CheckNamedValue lets pgx take any argument as it does without the
// recorder; SQLite's connection leaves it to database/sql.
func (c *recConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.fullConn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}
