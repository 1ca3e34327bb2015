package mcp

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentry/agentry/tool"
)

// toolListing is the result of listing a server's tools.
type toolListing struct {
	tools []tool.Tool // sorted by name
	// skipped are server tool names left out because "<id>:<name>" is not
	// a valid tool name or the server listed them twice.
	skipped []string
	// missing are allow-list entries that the server does not list.
	missing []string
}

// listTools lists the tools of c and keeps those that the allow-list
// admits.
func (s *Server) listTools(ctx context.Context, c *conn) (toolListing, error) {
	res, err := safely(func() (*mcp.ListToolsResult, error) { return c.client.ListTools(ctx, mcp.ListToolsRequest{}) })
	if err != nil {
		return toolListing{}, fmt.Errorf("list tools: %w", err)
	}
	var listing toolListing
	listed := make(map[string]bool, len(res.Tools))
	for _, t := range res.Tools {
		if s.allowed != nil && !s.allowed[t.Name] {
			continue
		}
		name := s.id + ":" + t.Name
		if !tool.ValidName(name) || listed[t.Name] {
			listing.skipped = append(listing.skipped, t.Name)
			continue
		}
		listed[t.Name] = true
		schema, err := inputSchema(t)
		if err != nil {
			listing.skipped = append(listing.skipped, t.Name)
			continue
		}
		listing.tools = append(listing.tools, &remoteTool{
			server:      s,
			name:        name,
			remote:      t.Name,
			description: description(t),
			schema:      schema,
		})
	}
	for name := range s.allowed {
		if !listed[name] {
			listing.missing = append(listing.missing, name)
		}
	}
	sort.Strings(listing.missing)
	slices.SortFunc(listing.tools, func(a, b tool.Tool) int { return strings.Compare(a.Name(), b.Name()) })
	return listing, nil
}

// description returns what the model reads about t: its description, or
// its title when the description is empty.
func description(t mcp.Tool) string {
	if d := strings.TrimSpace(t.Description); d != "" {
		return d
	}
	if t.Title != "" {
		return t.Title
	}
	if t.Annotations.Title != "" {
		return t.Annotations.Title
	}
	return t.Name
}
