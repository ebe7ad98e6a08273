#!/usr/bin/env bash
# npm run test:sanitize: builds the addon with AddressSanitizer + UBSan into build-asan/, then runs the
# native-facing suites on it with the ASan runtime preloaded and leak detection on; any report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
LISA_NATIVE_SANITIZE=1 LISA_NATIVE_OUT=build-asan node scripts/build-native.mjs
reports=$(mktemp -d)
export LISA_NATIVE_ADDON="$PWD/build-asan/lisa_native.node"
export LD_PRELOAD="$(g++ -print-file-name=libasan.so)"
export ASAN_OPTIONS="detect_leaks=1:malloc_context_size=2:fast_unwind_on_malloc=1:log_path=$reports/asan"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan-node.supp:print_suppressions=0"
# Kernel outputs left unfilled (src/tensor/buffer-pool.ts) come as NaN: a kernel that reads what it did not write fails.
export LISA_POISON_UNINIT=1
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
# The suites run on this build, not on build/: check that the sanitized addon is the one loaded.
node --import tsx -e "
  import('./src/backends/cpu-native.ts').then(({ nativeAddon, NATIVE_ADDON_PATH }) => {
    if (NATIVE_ADDON_PATH !== process.env.LISA_NATIVE_ADDON) throw new Error('wrong addon ' + NATIVE_ADDON_PATH);
    console.log('sanitized addon:', NATIVE_ADDON_PATH, JSON.stringify(nativeAddon().gemmInfo()));
  });"
suites=(test/backends test/ops test/models test/tensor test/optim test/finetune test/train/train-lisa.test.ts
  test/train/train-lora.test.ts)
status=0
npx vitest run "${suites[@]}" || status=$?
LISA_NO_OPENBLAS=1 npx vitest run test/backends || status=$?
unset LD_PRELOAD
if compgen -G "$reports/*" > /dev/null; then
  echo "sanitizer reports:"; cat "$reports"/*; status=1
fi
echo "test:sanitize: $(( $(date +%s) - started )) s, $( [ $status = 0 ] && echo 'no ASan/UBSan report' || echo FAILED)"
exit $status
