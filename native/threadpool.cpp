// The addon's one persistent thread pool (std::thread, no OpenMP): the caller runs chunk 0 and num_threads()-1
// workers run the rest. Idle workers spin briefly for the next job and then sleep on a condition variable.
// set_num_threads also sets OpenBLAS's thread count, so OpenBLAS and our kernels share one budget.
#include "threadpool.h"

#include <napi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "blas.h"
#include "register.h"

namespace lisa {
namespace {
constexpr int kMaxThreads = 256;
// Idle spin before a worker sleeps: long enough to catch the next kernel of a sequence called from JS, short
// enough not to keep a core from OpenBLAS's threads when a GEMM follows.
constexpr auto kWorkerSpin = std::chrono::microseconds(50);
constexpr auto kCallerSpin = std::chrono::milliseconds(2);    // caller's spin before it sleeps on the rest

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins on ready() for up to `limit`, checking the clock every 64 polls. True when ready() became true.
template <class Ready, class Dur>
bool spin_until(Ready ready, Dur limit) {
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() - start > limit) return ready();
  }
}

int default_threads() {
  if (const char* env = std::getenv("LISA_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n < kMaxThreads ? n : kMaxThreads;
  }
  unsigned hw = std::thread::hardware_concurrency();
  if (hw == 0) return 1;
  return hw < static_cast<unsigned>(kMaxThreads) ? static_cast<int>(hw) : kMaxThreads;
}

thread_local bool t_inside = false;  // set while this thread runs a chunk: nested calls run inline

class Pool {
 public:
  explicit Pool(int n) { start(n); }

  int size() const { return size_; }

  void resize(int n) {
    std::lock_guard<std::mutex> run_lock(run_mu_);
    stop_all();
    start(n);
  }

  void run(int64_t n, int64_t chunks, const std::function<void(int64_t, int64_t)>& fn) {
    std::unique_lock<std::mutex> run_lock(run_mu_, std::try_to_lock);
    if (!run_lock.owns_lock() || t_inside) {  // another caller owns the pool, or a nested call
      fn(0, n);
      return;
    }
    fn_ = &fn;
    n_ = n;
    chunks_ = chunks;
    error_ = nullptr;
    pending_.store(static_cast<int>(chunks - 1), std::memory_order_relaxed);
    // The job word packs a generation (high bits) and the chunk count (low 16 bits) so that a worker reads
    // both together and a worker without a chunk never touches this job's fields.
    uint64_t word = ((job_.load(std::memory_order_relaxed) >> 16) + 1) << 16 | static_cast<uint64_t>(chunks);
    job_.store(word, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_all();
    }
    run_chunk(0);
    if (!spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; }, kCallerSpin)) {
      std::unique_lock<std::mutex> lock(done_mu_);
      caller_waiting_.store(true, std::memory_order_seq_cst);
      done_cv_.wait(lock, [&] { return pending_.load(std::memory_order_seq_cst) == 0; });
      caller_waiting_.store(false, std::memory_order_relaxed);
    }
    fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void start(int n) {
    size_ = n;
    stop_.store(false);
    // Each worker starts from the current job word: one published before the thread runs is still new to it.
    const uint64_t seen = job_.load();
    for (int id = 1; id < n; ++id) workers_.emplace_back([this, id, seen] { worker(id, seen); });
  }

  void stop_all() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true, std::memory_order_seq_cst);
      cv_.notify_all();
    }
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  void run_chunk(int64_t i) {
    int64_t begin = n_ * i / chunks_, end = n_ * (i + 1) / chunks_;
    t_inside = true;
    try {
      (*fn_)(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(err_mu_);
      if (!error_) error_ = std::current_exception();
    }
    t_inside = false;
  }

  void worker(int id, uint64_t seen) {
    for (;;) {
      auto changed = [&] { return job_.load(std::memory_order_seq_cst) != seen || stop_.load(); };
      if (!spin_until(changed, kWorkerSpin)) {
        std::unique_lock<std::mutex> lock(mu_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        cv_.wait(lock, changed);
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
      }
      if (stop_.load()) return;
      seen = job_.load(std::memory_order_acquire);
      if (static_cast<int64_t>(seen & 0xffff) <= id) continue;  // no chunk for this worker in this job
      run_chunk(id);
      if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1 && caller_waiting_.load(std::memory_order_seq_cst)) {
        std::lock_guard<std::mutex> lock(done_mu_);
        done_cv_.notify_one();
      }
    }
  }

  int size_ = 1;
  std::vector<std::thread> workers_;
  std::mutex run_mu_;  // one job at a time; held by resize too
  // The current job (written by the caller before the job word is published).
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, chunks_ = 1;
  std::exception_ptr error_;
  std::mutex err_mu_;
  std::atomic<uint64_t> job_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  // Waking workers: sleepers_ lets the caller skip the lock and notify when every worker is spinning.
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<int> sleepers_{0};
  // Waking the caller once the last chunk is done.
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  std::atomic<bool> caller_waiting_{false};
};

std::once_flag g_pool_once;
Pool* g_pool = nullptr;  // never freed: worker threads must not be joined during static destruction

Pool& pool() {
  std::call_once(g_pool_once, [] {
    int n = default_threads();
    blas::set_num_threads(n);
    g_pool = new Pool(n);
  });
  return *g_pool;
}
}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) {
  if (n < 1) n = 1;
  if (n > kMaxThreads) n = kMaxThreads;
  Pool& p = pool();
  blas::set_num_threads(n);
  if (n != p.size()) p.resize(n);
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  Pool& p = pool();
  int64_t chunks = n / grain;
  if (chunks > p.size()) chunks = p.size();
  if (chunks <= 1 || t_inside) {
    fn(0, n);
    return;
  }
  p.run(n, chunks, fn);
}
}  // namespace lisa

// JS: setNumThreads(n: number): void; getNumThreads(): number.
static Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "setNumThreads(n): n must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double n = info[0].As<Napi::Number>().DoubleValue();
  if (!(n >= 1) || n != static_cast<double>(static_cast<int64_t>(n))) {
    Napi::RangeError::New(env, "setNumThreads(n): n must be an integer >= 1").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  lisa::set_num_threads(n > 256 ? 256 : static_cast<int>(n));
  return env.Undefined();
}

static Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), lisa::num_threads());
}

void RegisterThreads(Napi::Env env, Napi::Object exports) {
  lisa::num_threads();  // start the pool and hand its budget to OpenBLAS before any kernel runs
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads, "getNumThreads"));
}
