// SIGINT/SIGTERM for a long synchronous training loop: the first signal sets a flag the trainer polls between
// steps (JS signal handlers cannot run while a step computes); a second one, later than a key press's echo,
// exits at once with 128+signal.
#include <napi.h>
#include <atomic>
#include <csignal>
#include <ctime>
#include <unistd.h>
#include "register.h"

namespace {

std::atomic<int> g_signal{0};           // the first signal received since install, or 0
std::atomic<long long> g_first_ns{0};  // when it came (CLOCK_MONOTONIC)
struct sigaction g_old_int, g_old_term;
bool g_installed = false;
// A wrapper (a shell, npm) may deliver one key press twice within milliseconds: that is not a second Ctrl-C.
constexpr long long kSameKeyPressNs = 300LL * 1000 * 1000;

long long NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

void Say(const char* s) {
  size_t n = 0;
  while (s[n]) n++;
  ssize_t ignored = write(STDERR_FILENO, s, n);  // async-signal-safe
  (void)ignored;
}

void OnSignal(int sig) {
  const long long now = NowNs();
  int expected = 0;
  if (g_signal.compare_exchange_strong(expected, sig)) {
    g_first_ns.store(now);
    Say("\nlisa: stopping after the current step and saving a checkpoint (interrupt again to exit at once)\n");
    return;
  }
  if (now - g_first_ns.load() < kSameKeyPressNs) return;
  Say("\nlisa: interrupted again: exiting now; the last complete checkpoint is kept\n");
  _exit(128 + sig);
}

// interruptInstall(): catch SIGINT and SIGTERM from now on, clearing any earlier signal.
Napi::Value Install(const Napi::CallbackInfo& info) {
  g_signal.store(0);
  if (!g_installed) {
    struct sigaction sa = {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, &g_old_int);
    sigaction(SIGTERM, &sa, &g_old_term);
    g_installed = true;
  }
  return info.Env().Undefined();
}

// interruptRestore(): give SIGINT and SIGTERM back to their previous handlers.
Napi::Value Restore(const Napi::CallbackInfo& info) {
  if (g_installed) {
    sigaction(SIGINT, &g_old_int, nullptr);
    sigaction(SIGTERM, &g_old_term, nullptr);
    g_installed = false;
  }
  return info.Env().Undefined();
}

// interruptPending(): the signal number received since install, or 0.
Napi::Value Pending(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), g_signal.load());
}

}  // namespace

void RegisterInterrupt(Napi::Env env, Napi::Object exports) {
  exports.Set("interruptInstall", Napi::Function::New(env, Install));
  exports.Set("interruptRestore", Napi::Function::New(env, Restore));
  exports.Set("interruptPending", Napi::Function::New(env, Pending));
}
