"""Project macros: C++ targets with the project's defaults, and protoc."""

def vfsd_cc_library(name, deps = [], **kwargs):
    native.cc_library(
        name = name,
        deps = deps,
        **kwargs
    )

def vfsd_cc_test(name, deps = [], size = "small", **kwargs):
    """A GoogleTest test linked with the project's gtest main (glog to stderr)."""
    native.cc_test(
        name = name,
        size = size,
        deps = deps + ["//third_party:gtest_main"],
        **kwargs
    )

def vfsd_cc_proto_library(name, src, grpc = False, deps = [], visibility = None, testonly = False):
    """Generates C++ (and optionally gRPC) code from one .proto with the system protoc.

    Args:
      name: the cc_library to create.
      src: the .proto file, in this package.
      grpc: also generate the gRPC service stubs.
      deps: other vfsd_cc_proto_library targets the proto imports.
      visibility: of the cc_library.
      testonly: for protos only tests use.
    """
    base = src[:-len(".proto")]
    outs = [base + ".pb.h", base + ".pb.cc"]
    cmd = "protoc --proto_path=. --cpp_out=$(GENDIR) $(location %s)" % src
    if grpc:
        outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
        cmd += " --grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=$$(which grpc_cpp_plugin)"
    native.genrule(
        name = name + "_gen",
        srcs = [src],
        outs = outs,
        cmd = cmd,
        testonly = testonly,
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        deps = deps + ["//third_party:protobuf"] + (["//third_party:grpc"] if grpc else []),
        visibility = visibility,
        testonly = testonly,
    )
