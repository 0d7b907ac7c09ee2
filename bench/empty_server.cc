#include "bench/empty_server.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <iostream>

#include "bench/empty.grpc.pb.h"

namespace sweep::bench {
namespace {

class EmptyServiceImpl final : public EmptyService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* context,
                                 const EmptyRequest*, EmptyResponse*) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int RunEmptyServer(const std::string& listen) {
  // As `sweep server`: signals are taken synchronously by this thread, and
  // every thread gRPC starts inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  EmptyServiceImpl service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "empty server: cannot listen on " << listen << "\n";
    return 1;
  }
  const std::string host = listen.substr(0, listen.rfind(':'));
  std::cout << "empty server listening on " << host << ":" << port << std::endl;
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return 0;
}

}  // namespace sweep::bench
