package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentry/agentry/tool"
)

// call runs the tool named name on the server; see Server.
func (s *Server) call(ctx context.Context, name string, args json.RawMessage) (tool.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	args = normalizeArgs(args)

	c, err := s.connection(ctx)
	if err != nil {
		return tool.Result{}, s.callError(ctx, name, err, false)
	}
	res, err := s.invoke(ctx, c, name, args)
	if err == nil || !c.broken(ctx, err) {
		return res, s.callError(ctx, name, err, false)
	}

	s.log.InfoContext(ctx, "mcp connection lost during a call; reconnecting to retry once", "tool", name, "error", s.redact.wrap(err))
	s.drop(c, err)
	c, err = s.connection(ctx)
	if err != nil {
		return tool.Result{}, s.callError(ctx, name, err, true)
	}
	res, err = s.invoke(ctx, c, name, args)
	if err != nil && c.broken(ctx, err) {
		s.drop(c, err)
	}
	return res, s.callError(ctx, name, err, true)
}

// invoke sends one tools/call on c.
func (s *Server) invoke(ctx context.Context, c *conn, name string, args json.RawMessage) (tool.Result, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := safely(func() (*mcp.CallToolResult, error) { return c.client.CallTool(ctx, req) })
	if err != nil {
		return tool.Result{}, err
	}
	return toResult(res)
}

// callError returns the error of a failed call, or nil when err is nil.
func (s *Server) callError(ctx context.Context, name string, err error, retried bool) error {
	if err == nil {
		return nil
	}
	err = s.redact.wrap(err)
	if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrClosed) {
		return fmt.Errorf("tool %q: %w", s.id+":"+name, err)
	}
	if expired(ctx) && !errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("%w: tool %q of mcp server %q: no result within %s; raise the server's timeout if the tool needs longer: %w",
			ErrTimeout, name, s.id, s.timeout, err)
	}
	if retried {
		return fmt.Errorf("%w: tool %q of mcp server %q, after a reconnect: %w", ErrCallFailed, name, s.id, err)
	}
	return fmt.Errorf("%w: tool %q of mcp server %q: %w", ErrCallFailed, name, s.id, err)
}
