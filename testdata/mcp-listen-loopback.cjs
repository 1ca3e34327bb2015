// Preload for Node servers under test: makes every TCP listen bind
// 127.0.0.1. Some servers, such as @modelcontextprotocol/server-everything,
// listen on all interfaces and have no option to choose the host, and a
// test must not open a port beyond the machine. Use it with
//   node --require ./testdata/mcp-listen-loopback.cjs server.js
// Listening on a Unix socket path or a handle is left as it is.
"use strict";

const net = require("node:net");

const loopback = "127.0.0.1";
const listen = net.Server.prototype.listen;

net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (first !== null && typeof first === "object" && !Array.isArray(first)) {
    // listen(options[, callback]) and listen(handle[, ...]).
    if ("port" in first || !("path" in first || "fd" in first || "_handle" in first)) {
      args[0] = { ...first, host: loopback };
    }
    return listen.apply(this, args);
  }
  if (typeof first === "string" && !/^\d+$/.test(first)) {
    // listen(path[, backlog][, callback]): a Unix socket.
    return listen.apply(this, args);
  }
  // listen([port[, host[, backlog]]][, callback]).
  const port = first === undefined || typeof first === "function" ? 0 : Number(first);
  const callback = args.find((arg) => typeof arg === "function");
  const options = { port, host: loopback };
  if (typeof args[1] === "number") {
    options.backlog = args[1];
  } else if (typeof args[2] === "number") {
    options.backlog = args[2];
  }
  return callback ? listen.call(this, options, callback) : listen.call(this, options);
};
