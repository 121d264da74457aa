// Preloaded into the ThreadSanitizer runs (tools/tsan/run.sh). Debian's CAF is not
// instrumented, so TSan cannot see that putting a message into an actor's mailbox
// happens-before the actor (or a blocking receive) handles it, and reports every payload that
// crosses a mailbox as a race. This library interposes CAF's enqueue and resume/dequeue
// entry points and tells TSan about that edge (release on enqueue, acquire before handling),
// so the reports that remain are about Duplex's own synchronization.
//
// One sync object for all mailboxes: coarser than per-actor edges (it can hide a race
// between two actors), never finer, so what it reports is real.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);

namespace {

char mailbox_sync;

template <class Fn>
Fn next_definition(const char* symbol) {
  void* found = dlsym(RTLD_NEXT, symbol);
  if (found == nullptr) {
    std::fprintf(stderr, "caf_mailbox_sync: no %s in CAF\n", symbol);
    std::abort();
  }
  return reinterpret_cast<Fn>(found);
}

// Itanium ABI: a std::unique_ptr argument is passed by address, so the element is forwarded
// as the pointer the caller gave.
using enqueue_fn = void (*)(void* self, void* element, void* context);
using resume_fn = int (*)(void* self, void* context, unsigned long max_throughput);
using dequeue_fn = void* (*)(void* self);
using visit_fn = int (*)(void* visitor, void* element);  // returns intrusive::task_result

}  // namespace

#define DUPLEX_SCHEDULED_ENQUEUE                                                                   \
  "_ZN3caf15scheduled_actor7enqueueESt10unique_ptrINS_15mailbox_elementENS_6detail8disposerEEPNS_" \
  "14execution_unitE"
#define DUPLEX_BLOCKING_ENQUEUE                                                                   \
  "_ZN3caf14blocking_actor7enqueueESt10unique_ptrINS_15mailbox_elementENS_6detail8disposerEEPNS_" \
  "14execution_unitE"
#define DUPLEX_SCHEDULED_RESUME "_ZN3caf15scheduled_actor6resumeEPNS_14execution_unitEm"
#define DUPLEX_SCHEDULED_RESUME_THUNK \
  "_ZThn160_N3caf15scheduled_actor6resumeEPNS_14execution_unitEm"
#define DUPLEX_BLOCKING_DEQUEUE "_ZN3caf14blocking_actor7dequeueEv"
#define DUPLEX_SCHEDULED_VISIT "_ZN3caf15scheduled_actor15mailbox_visitorclERNS_15mailbox_elementE"
#define DUPLEX_BLOCKING_VISIT "_ZN3caf14blocking_actor15mailbox_visitorclERNS_15mailbox_elementE"

extern "C" {

void scheduled_enqueue(void* self, void* element, void* context) __asm__(DUPLEX_SCHEDULED_ENQUEUE);
void scheduled_enqueue(void* self, void* element, void* context) {
  static auto next = next_definition<enqueue_fn>(DUPLEX_SCHEDULED_ENQUEUE);
  __tsan_release(&mailbox_sync);
  next(self, element, context);
}

void blocking_enqueue(void* self, void* element, void* context) __asm__(DUPLEX_BLOCKING_ENQUEUE);
void blocking_enqueue(void* self, void* element, void* context) {
  static auto next = next_definition<enqueue_fn>(DUPLEX_BLOCKING_ENQUEUE);
  __tsan_release(&mailbox_sync);
  next(self, element, context);
}

int scheduled_resume(void* self, void* context, unsigned long max) __asm__(DUPLEX_SCHEDULED_RESUME);
int scheduled_resume(void* self, void* context, unsigned long max) {
  static auto next = next_definition<resume_fn>(DUPLEX_SCHEDULED_RESUME);
  __tsan_acquire(&mailbox_sync);
  return next(self, context, max);
}

// The scheduler resumes actors through their `resumable` base, whose vtable slot is this thunk.
int scheduled_resume_thunk(void* self, void* context,
                           unsigned long max) __asm__(DUPLEX_SCHEDULED_RESUME_THUNK);
int scheduled_resume_thunk(void* self, void* context, unsigned long max) {
  static auto next = next_definition<resume_fn>(DUPLEX_SCHEDULED_RESUME_THUNK);
  __tsan_acquire(&mailbox_sync);
  return next(self, context, max);
}

void* blocking_dequeue(void* self) __asm__(DUPLEX_BLOCKING_DEQUEUE);
void* blocking_dequeue(void* self) {
  static auto next = next_definition<dequeue_fn>(DUPLEX_BLOCKING_DEQUEUE);
  void* element = next(self);
  __tsan_acquire(&mailbox_sync);
  return element;
}

// One resume handles many messages, some enqueued after it began: acquire per message too.
int scheduled_visit(void* visitor, void* element) __asm__(DUPLEX_SCHEDULED_VISIT);
int scheduled_visit(void* visitor, void* element) {
  static auto next = next_definition<visit_fn>(DUPLEX_SCHEDULED_VISIT);
  __tsan_acquire(&mailbox_sync);
  return next(visitor, element);
}

int blocking_visit(void* visitor, void* element) __asm__(DUPLEX_BLOCKING_VISIT);
int blocking_visit(void* visitor, void* element) {
  static auto next = next_definition<visit_fn>(DUPLEX_BLOCKING_VISIT);
  __tsan_acquire(&mailbox_sync);
  return next(visitor, element);
}

}  // extern "C"
