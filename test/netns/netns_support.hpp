// Two network namespaces joined by a veth pair: two "hosts" on one machine, whose link the
// tests cut (ip link set down, nft drop rules) and heal. Needs root; without it (or without
// `ip netns`) the tests are skipped through netns_available().
#pragma once

#include <boost/test/unit_test.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace duplex::testing {

// Runs a command (no shell) and returns its exit code, -1 if it could not run or was killed;
// its standard output goes to `output` when given, else to the test's.
int run_command(const std::vector<std::string>& argv, std::string* output = nullptr);

// Boost.Test precondition: root, and a probe namespace can be added and deleted. The message
// says why not, and Boost.Test reports the test as skipped with it.
boost::test_tools::assertion_result netns_available(boost::unit_test::test_unit_id);
// Also needs nft (the nftables package).
boost::test_tools::assertion_result netns_and_nft_available(boost::unit_test::test_unit_id);

// Namespaces dpxt<pid>a and dpxt<pid>b (unique per test process), a veth pair between them:
// 10.77.0.1/24 in a, 10.77.0.2/24 in b, both up. The destructor deletes both namespaces,
// which removes the veth pair and any nft table inside them; processes still running in them
// must be gone first (declare the namespace_pair before the testpeer_process objects).
class namespace_pair {
 public:
  static constexpr const char* a_address = "10.77.0.1";
  static constexpr const char* b_address = "10.77.0.2";

  namespace_pair();  // BOOST_REQUIRE fails when a command fails
  ~namespace_pair();
  namespace_pair(const namespace_pair&) = delete;
  namespace_pair& operator=(const namespace_pair&) = delete;

  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }
  const std::string& a_device() const { return a_device_; }
  const std::string& b_device() const { return b_device_; }

  // {"ip", "netns", "exec", name}: what runs a program inside a namespace.
  static std::vector<std::string> exec_in(const std::string& name);
  // Runs `args` inside namespace `name`; BOOST_REQUIREs success.
  static void run_in(const std::string& name, std::vector<std::string> args,
                     std::string* output = nullptr);

 private:
  void create();
  void remove();

  std::string a_;
  std::string b_;
  std::string a_device_;
  std::string b_device_;
  bool created_a_ = false;
  bool created_b_ = false;
  bool link_here_ = false;  // the veth pair exists and is still in this namespace
};

// Runs `fn` on a new thread that first entered network namespace `name`; every thread `fn`
// starts inherits the namespace. A duplex::runtime created in `fn` opens all its sockets
// there: its transport thread and ZeroMQ's I/O threads are started by that thread.
void in_network_namespace(const std::string& name, const std::function<void()>& fn);

}  // namespace duplex::testing
