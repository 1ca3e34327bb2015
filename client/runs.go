package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/agentry/agentry/transport/wire"
)

// Routines lists the autonomous routines with their input and output
// schemas.
func (c *Client) Routines(ctx context.Context) ([]wire.Routine, error) {
	var out wire.RoutineList
	err := c.do(ctx, http.MethodGet, "/routines", nil, nil, &out)
	return out.Routines, err
}

// Trigger starts a run of the routine. It returns the run's id; created is
// false when req.IdempotencyKey named an existing run, which is returned
// instead. A 422 *APIError lists every invalid field of the input.
func (c *Client) Trigger(ctx context.Context, routineID string, req wire.TriggerRequest) (resp wire.TriggerResponse, created bool, err error) {
	status, err := c.doStatus(ctx, http.MethodPost, "/routines/"+url.PathEscape(routineID)+"/trigger", nil, req, &resp)
	return resp, status == http.StatusAccepted, err
}

// GetRun returns the run. With wait > 0 the server holds the request until
// the run ends or wait passes (at most 60s).
func (c *Client) GetRun(ctx context.Context, runID string, wait time.Duration) (wire.Run, error) {
	var q url.Values
	if wait > 0 {
		q = url.Values{"wait": {fmt.Sprintf("%g", wait.Seconds())}}
	}
	var run wire.Run
	err := c.do(ctx, http.MethodGet, "/runs/"+url.PathEscape(runID), q, nil, &run)
	return run, err
}

// WaitRun polls the run until it ends or ctx ends.
func (c *Client) WaitRun(ctx context.Context, runID string) (wire.Run, error) {
	for {
		run, err := c.GetRun(ctx, runID, 30*time.Second)
		if err != nil || run.Status == wire.RunSucceeded || run.Status == wire.RunFailed {
			return run, err
		}
	}
}

// CancelRun cancels a queued or running run.
func (c *Client) CancelRun(ctx context.Context, runID string) (wire.Run, error) {
	var run wire.Run
	err := c.do(ctx, http.MethodPost, "/runs/"+url.PathEscape(runID)+"/cancel", nil, nil, &run)
	return run, err
}

// RedeliverRun sends an ended run's callback again.
func (c *Client) RedeliverRun(ctx context.Context, runID string) (wire.Run, error) {
	var run wire.Run
	err := c.do(ctx, http.MethodPost, "/runs/"+url.PathEscape(runID)+"/redeliver", nil, nil, &run)
	return run, err
}
