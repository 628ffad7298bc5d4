// An in-process gRPC server and client over the generated Echo service.
#include <memory>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tools/proto_test/echo.grpc.pb.h"

namespace vfsd {
namespace {

class EchoService final : public tools::test::Echo::Service {
  grpc::Status Say(grpc::ServerContext*, const tools::test::EchoRequest* request,
                   tools::test::EchoReply* reply) override {
    reply->set_text(request->text());
    return grpc::Status::OK;
  }
};

TEST(GrpcCodegenTest, InProcessCallRoundTrips) {
  EchoService service;
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = tools::test::Echo::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  grpc::ClientContext context;
  tools::test::EchoRequest request;
  request.set_text("hello");
  tools::test::EchoReply reply;
  grpc::Status status = stub->Say(&context, request, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.text(), "hello");
  server->Shutdown();
}

}  // namespace
}  // namespace vfsd
