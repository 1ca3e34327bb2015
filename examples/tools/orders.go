package main

import (
	"context"
	"fmt"

	"github.com/agentry/agentry/tool"
)

// order is one row of the order table, and the result of orders:status.
type order struct {
	ID       string `json:"order_id"`
	Customer string `json:"customer_id"`
	Status   string `json:"status"`
	Carrier  string `json:"carrier,omitempty"`
	Tracking string `json:"tracking,omitempty"`
	ETA      string `json:"eta,omitempty"`
}

// orders is the in-memory order table that orders:status reads, keyed by
// order id. An application would query its order service here.
var orders = map[string]order{
	"A-1001": {ID: "A-1001", Customer: "c-1042", Status: "shipped", Carrier: "DHL", Tracking: "JD014600003828", ETA: "2026-12-09"},
	"A-1002": {ID: "A-1002", Customer: "c-1042", Status: "processing"},
}

// statusArgs are the arguments of orders:status. The struct tags become
// the tool's JSON Schema: order_id is required and has a description.
type statusArgs struct {
	OrderID string `json:"order_id" jsonschema:"description=the order number such as A-1001,minLength=1"`
}

// newOrderStatusTool returns the native tool orders:status, which looks up
// an order in the order table. An unknown order id is an error, which the
// model receives as a tool_result with error code tool_error.
func newOrderStatusTool() (tool.Tool, error) {
	return tool.Func("orders:status", "Returns the status, carrier and expected delivery date of an order.",
		func(ctx context.Context, args statusArgs) (order, error) {
			o, ok := orders[args.OrderID]
			if !ok {
				return order{}, fmt.Errorf("no order has the number %q; ask the customer to check it", args.OrderID)
			}
			return o, nil
		})
}
