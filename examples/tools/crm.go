package main

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// customer is one record of the CRM, and the result of crm:lookup.
type customer struct {
	ID    string `json:"customer_id"`
	Name  string `json:"name"`
	Plan  string `json:"plan"`
	Since string `json:"customer_since"`
}

// crmRecords is the CRM's initial customer table, keyed by customer id.
var crmRecords = map[string]customer{
	"c-1042": {ID: "c-1042", Name: "Ada Lovelace", Plan: "premium", Since: "2021-03-14"},
}

// crmExport is the document that the program injects into the session
// before the conversation starts: what a CRM export of the customer's open
// tickets might contain.
var crmExport = map[string]any{
	"customer_id": "c-1042",
	"name":        "Ada Lovelace",
	"open_tickets": []map[string]any{
		{"id": "T-88", "subject": "Parcel for order A-1001 has not arrived", "opened": "2026-12-03"},
	},
}

// crmServer is an MCP server for the CRM, on a loopback port in this
// process. It offers two tools: lookup, which reads a customer record,
// and update_plan, which changes one. The manifest's allow-list admits
// only lookup, so the agent is never offered update_plan.
type crmServer struct {
	// URL is the streamable-http endpoint, http://127.0.0.1:<port>/mcp.
	URL string

	http *http.Server
	mu   sync.Mutex
	// records is a copy of crmRecords that update_plan changes.
	records map[string]customer
}

// startCRM starts the CRM MCP server on a free loopback port. Every
// request must carry "Authorization: Bearer <token>".
func startCRM(token string, logger *slog.Logger) (*crmServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the CRM MCP server: %w", err)
	}
	c := &crmServer{URL: "http://" + ln.Addr().String() + "/mcp", records: make(map[string]customer)}
	for id, r := range crmRecords {
		c.records[id] = r
	}

	s := server.NewMCPServer("crm", "1.0.0", server.WithToolCapabilities(true))
	s.AddTool(mcp.NewTool("lookup",
		mcp.WithDescription("Returns a customer's name, plan and the date they became a customer."),
		mcp.WithReadOnlyHintAnnotation(true),
		mcp.WithString("customer_id", mcp.Required(), mcp.Description("the customer id such as c-1042")),
	), c.lookup)
	s.AddTool(mcp.NewTool("update_plan",
		mcp.WithDescription("Moves a customer to another plan."),
		mcp.WithString("customer_id", mcp.Required()),
		mcp.WithString("plan", mcp.Required(), mcp.Enum("basic", "premium")),
	), c.updatePlan)

	mux := http.NewServeMux()
	mux.Handle("/mcp", requireBearer(token, server.NewStreamableHTTPServer(s, server.WithStreamableHTTPLogger(logger))))
	c.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go c.http.Serve(ln)
	return c, nil
}

// Close stops the server and closes its connections.
func (c *crmServer) Close() error {
	return c.http.Close()
}

func (c *crmServer) lookup(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	id, err := req.RequireString("customer_id")
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	c.mu.Lock()
	r, ok := c.records[id]
	c.mu.Unlock()
	if !ok {
		return mcp.NewToolResultError(fmt.Sprintf("no customer has the id %q", id)), nil
	}
	return mcp.NewToolResultStructured(r, fmt.Sprintf("%s is on the %s plan", r.Name, r.Plan)), nil
}

func (c *crmServer) updatePlan(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	id, err := req.RequireString("customer_id")
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	plan, err := req.RequireString("plan")
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.records[id]
	if !ok {
		return mcp.NewToolResultError(fmt.Sprintf("no customer has the id %q", id)), nil
	}
	r.Plan = plan
	c.records[id] = r
	return mcp.NewToolResultStructured(r, fmt.Sprintf("%s is now on the %s plan", r.Name, r.Plan)), nil
}

// requireBearer responds with 401 to requests without the bearer token,
// which it compares in constant time.
func requireBearer(token string, next http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
