//===- HttpServer.h - cpp-httplib with idle connections parked in epoll ----===//
//
// cpp-httplib (Debian 12: 0.11.4) gives every connection a worker thread from the moment
// it is accepted until it closes, keep-alive waits included: a few thousand idle
// connections would hold every worker, and everyone else would wait. This server keeps
// httplib's parsing, routing and response writing (Server::process_request) but not its
// connection handling:
//   - an accepted connection, and a kept-alive one between requests, waits in an epoll
//     set, not in a thread, until a request's first bytes arrive; then one request runs
//     on a worker, and the connection goes back to the set;
//   - a connection idle longer than `idleSeconds`, or beyond `maxConnections` open at
//     once, is closed; a request must arrive whole within `requestSeconds` of its first
//     bytes (a client that trickles bytes holds a worker that long at most);
//   - a handler can ask whether its client has gone away (clientGone): a non-streaming
//     request then stops generating instead of running to its end unheard.
// A worker is held only while a request is read, run and answered (a streamed answer
// holds it to the end), so `workers` bounds the requests in flight, not the connections.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_TOOLS_MVC_SERVE_HTTPSERVER_H
#define MVC_TOOLS_MVC_SERVE_HTTPSERVER_H

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <httplib.h>

namespace mvc::serving {

class HttpServer : public httplib::Server {
public:
  struct Limits {
    size_t workers = 64;          // requests read, run and answered at once
    int64_t maxConnections = 16384; // open at once; more are closed when accepted
    int idleSeconds = 30;         // a connection with no request for this long is closed
    int requestSeconds = 30;      // a request's line, headers and body must arrive within
  };
  explicit HttpServer(const Limits &limits);
  ~HttpServer() override; // shutdown()

  /// Stops serving parked connections and waits for the requests in flight to finish
  /// (call after listen returns, before what the handlers use goes away).
  void shutdown();

  /// On a worker running a handler: whether the request's client has closed its
  /// connection (or reset it).
  static bool clientGone();
  /// After binding: a listen backlog of `backlog` connections (httplib's is 5, so a burst
  /// of connects beyond it waits a second for the SYN to be sent again).
  void widenBacklog(int backlog);
  /// Connections open now (parked or in a request).
  int64_t openConnections() const { return open.load(); }

private:
  bool process_and_close_socket(socket_t sock) override;
  /// Waits for `sock`'s next request in the epoll set (closes it if over the limits).
  void park(int sock);
  /// Runs the requests that have arrived on `sock`, then parks it again or closes it.
  void serve(int sock);
  void closeSocket(int sock);
  void poll();

  Limits limits;
  int epollFd = -1;
  int wakeFd = -1; // an eventfd that ends poll() at shutdown
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> open{0};
  std::mutex mutex;
  std::map<int, std::chrono::steady_clock::time_point> parked; // socket -> when to close
  std::unique_ptr<httplib::ThreadPool> pool;
  std::thread poller;
  std::once_flag shutOnce;
};

} // namespace mvc::serving

#endif // MVC_TOOLS_MVC_SERVE_HTTPSERVER_H
