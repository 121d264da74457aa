#include "duplex/rpc/service.hpp"

namespace duplex::rpc {

std::string_view to_string(shape s) noexcept {
  switch (s) {
    case shape::unary:
      return "unary";
    case shape::server_stream:
      return "server_stream";
    case shape::client_stream:
      return "client_stream";
    case shape::bidi:
      return "bidi";
    case shape::raw:
      return "raw";
  }
  return "raw";
}

service::service(std::string name, std::string description, std::string version)
    : name_(std::move(name)), description_(std::move(description)), version_(std::move(version)) {}

service& service::raw(method_info info, raw_handler handler) {
  return add(std::move(info), shape::raw, {}, {}, std::move(handler));
}

service& service::add(method_info info, shape kind, std::vector<std::string> request_fields,
                      std::vector<std::string> response_fields, raw_handler run,
                      handler_mode mode) {
  auto name = info.name;
  methods_[name] = method_entry{
      std::move(info), kind, mode, std::move(request_fields), std::move(response_fields),
      std::move(run)};
  return *this;
}

const method_entry* service::find(std::string_view method) const {
  auto it = methods_.find(method);
  return it == methods_.end() ? nullptr : &it->second;
}

result<void> service_registry::add(service s) {
  if (s.name().empty()) return error{errc::invalid_argument, "a service needs a name"};
  if (s.name().find('/') != std::string::npos)
    return error{errc::invalid_argument, "service name '" + s.name() + "' contains '/'"};
  for (auto& [name, entry] : s.methods())
    if (name.empty() || name.find('/') != std::string::npos)
      return error{errc::invalid_argument,
                   "method name '" + name + "' of service '" + s.name() + "' is empty or has '/'"};
  std::unique_lock<std::shared_mutex> lock(mutex_);
  auto name = s.name();
  services_[name] = std::make_shared<const service>(std::move(s));
  return {};
}

bool service_registry::remove(std::string_view name) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  auto it = services_.find(name);
  if (it == services_.end()) return false;
  services_.erase(it);
  return true;
}

std::shared_ptr<const service> service_registry::find(std::string_view name) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const service>> service_registry::list() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  std::vector<std::shared_ptr<const service>> out;
  for (auto& [name, s] : services_) out.push_back(s);
  return out;
}

void service_registry::set_serving(std::string_view name, bool serving) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  not_serving_[std::string(name)] = !serving;
}

std::optional<bool> service_registry::serving(std::string_view name) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  if (services_.find(name) == services_.end()) return std::nullopt;
  auto it = not_serving_.find(name);
  return it == not_serving_.end() || !it->second;
}

}  // namespace duplex::rpc
