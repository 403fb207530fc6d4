#include "tools/mvc-serve/HttpServer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace mvc::serving {
namespace {

/// The socket of the request a worker is running (clientGone reads it).
thread_local int currentSocket = -1;

/// A socket as httplib's Stream, with a read buffer (httplib reads headers a byte at a
/// time). Bytes left in the buffer after a request are the next pipelined request.
class SocketStream final : public httplib::Stream {
public:
  SocketStream(int sock, time_t readSeconds, time_t writeSeconds)
      : sock(sock), readMs(static_cast<int>(readSeconds * 1000)),
        writeMs(static_cast<int>(writeSeconds * 1000)) {}

  /// Reads (of the next request) end by `deadline` whatever the per-read timeout.
  void readBy(std::chrono::steady_clock::time_point deadline) { readDeadline = deadline; }

  bool is_readable() const override {
    if (begin < end)
      return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          readDeadline - std::chrono::steady_clock::now())
                          .count();
    return left > 0 && wait(POLLIN, static_cast<int>(std::min<int64_t>(readMs, left)));
  }
  bool is_writable() const override { return wait(POLLOUT, writeMs); }
  ssize_t read(char *ptr, size_t size) override {
    if (begin == end) {
      if (!is_readable())
        return -1;
      ssize_t got;
      do
        got = ::recv(sock, buffer, sizeof(buffer), 0);
      while (got < 0 && errno == EINTR);
      if (got <= 0)
        return got;
      begin = 0;
      end = static_cast<size_t>(got);
    }
    const size_t n = std::min(size, end - begin);
    std::memcpy(ptr, buffer + begin, n);
    begin += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char *ptr, size_t size) override {
    if (!is_writable())
      return -1;
    ssize_t sent;
    do
      sent = ::send(sock, ptr, size, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    return sent;
  }
  void get_remote_ip_and_port(std::string &ip, int &port) const override {
    address(::getpeername, ip, port);
  }
  void get_local_ip_and_port(std::string &ip, int &port) const override {
    address(::getsockname, ip, port);
  }
  socket_t socket() const override { return sock; }
  bool buffered() const { return begin < end; }

private:
  bool wait(short events, int timeoutMs) const {
    pollfd fd{sock, events, 0};
    int ready;
    do
      ready = ::poll(&fd, 1, timeoutMs);
    while (ready < 0 && errno == EINTR);
    return ready > 0 && (fd.revents & events);
  }
  void address(int (*get)(int, sockaddr *, socklen_t *), std::string &ip, int &port) const {
    sockaddr_storage storage{};
    socklen_t length = sizeof(storage);
    ip.clear();
    port = 0;
    if (get(sock, reinterpret_cast<sockaddr *>(&storage), &length) != 0)
      return;
    char text[INET6_ADDRSTRLEN] = {};
    if (storage.ss_family == AF_INET) {
      auto *v4 = reinterpret_cast<sockaddr_in *>(&storage);
      ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
      port = ntohs(v4->sin_port);
    } else if (storage.ss_family == AF_INET6) {
      auto *v6 = reinterpret_cast<sockaddr_in6 *>(&storage);
      ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
      port = ntohs(v6->sin6_port);
    }
    ip = text;
  }

  int sock;
  int readMs, writeMs;
  std::chrono::steady_clock::time_point readDeadline = std::chrono::steady_clock::time_point::max();
  char buffer[4096];
  size_t begin = 0, end = 0;
};

} // namespace

HttpServer::HttpServer(const Limits &limits) : limits(limits) {
  epollFd = ::epoll_create1(EPOLL_CLOEXEC);
  wakeFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = wakeFd;
  ::epoll_ctl(epollFd, EPOLL_CTL_ADD, wakeFd, &event);
  pool = std::make_unique<httplib::ThreadPool>(limits.workers);
  poller = std::thread([this] { poll(); });
}

HttpServer::~HttpServer() {
  shutdown();
  ::close(epollFd);
  ::close(wakeFd);
}

void HttpServer::shutdown() {
  std::call_once(shutOnce, [this] {
    stopping = true;
    uint64_t one = 1;
    (void)!::write(wakeFd, &one, sizeof(one));
    poller.join();
    pool->shutdown(); // the requests in flight finish; none is parked again
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto &[sock, deadline] : parked)
      closeSocket(sock);
    parked.clear();
  });
}

void HttpServer::widenBacklog(int backlog) {
  // listen() again on a listening socket only changes its backlog (Linux).
  ::listen(svr_sock_, backlog);
}

bool HttpServer::clientGone() {
  if (currentSocket < 0)
    return false;
  pollfd fd{currentSocket, POLLIN | POLLRDHUP, 0};
  if (::poll(&fd, 1, 0) <= 0)
    return false;
  if (fd.revents & (POLLRDHUP | POLLHUP | POLLERR))
    return true;
  // Readable: a pipelined request, or the end of the stream.
  char byte;
  return ::recv(currentSocket, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

bool HttpServer::process_and_close_socket(socket_t sock) {
  // Called by httplib's accept loop for each new connection.
  if (open.fetch_add(1) >= limits.maxConnections) {
    ::close(sock);
    --open;
    return false;
  }
  park(sock);
  return true;
}

void HttpServer::park(int sock) {
  std::lock_guard<std::mutex> lock(mutex);
  if (stopping) {
    closeSocket(sock);
    return;
  }
  parked[sock] = std::chrono::steady_clock::now() + std::chrono::seconds(limits.idleSeconds);
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
  event.data.fd = sock;
  if (::epoll_ctl(epollFd, EPOLL_CTL_ADD, sock, &event) != 0) {
    parked.erase(sock);
    closeSocket(sock);
  }
}

void HttpServer::closeSocket(int sock) {
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  --open;
}

void HttpServer::serve(int sock) {
  SocketStream stream(sock, read_timeout_sec_, write_timeout_sec_);
  currentSocket = sock;
  bool keep = true;
  // Requests already here run now (a pipelined one sits in the stream's buffer).
  do {
    bool closed = false;
    stream.readBy(std::chrono::steady_clock::now() + std::chrono::seconds(limits.requestSeconds));
    keep = process_request(stream, /*close_connection=*/false, closed, nullptr) && !closed;
  } while (keep && stream.buffered());
  currentSocket = -1;
  if (keep && !stopping)
    park(sock);
  else
    closeSocket(sock);
}

void HttpServer::poll() {
  std::vector<epoll_event> events(256);
  auto nextSweep = std::chrono::steady_clock::now();
  while (!stopping) {
    const int ready = ::epoll_wait(epollFd, events.data(), static_cast<int>(events.size()), 1000);
    std::vector<int> toServe, toClose;
    {
      std::lock_guard<std::mutex> lock(mutex);
      for (int i = 0; i < ready; ++i) {
        const int sock = events[static_cast<size_t>(i)].data.fd;
        if (sock == wakeFd)
          continue;
        ::epoll_ctl(epollFd, EPOLL_CTL_DEL, sock, nullptr);
        parked.erase(sock);
        // Bytes (or the end of the stream, which the request read will see) arrived.
        toServe.push_back(sock);
      }
      // Idle past the limit: closed (looked for once a second).
      const auto now = std::chrono::steady_clock::now();
      const bool sweep = now >= nextSweep;
      if (sweep)
        nextSweep = now + std::chrono::seconds(1);
      for (auto it = parked.begin(); sweep && it != parked.end();) {
        if (it->second <= now) {
          ::epoll_ctl(epollFd, EPOLL_CTL_DEL, it->first, nullptr);
          toClose.push_back(it->first);
          it = parked.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (int sock : toClose)
      closeSocket(sock);
    for (int sock : toServe)
      pool->enqueue([this, sock] { serve(sock); });
  }
}

} // namespace mvc::serving
