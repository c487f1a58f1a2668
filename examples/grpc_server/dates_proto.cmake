# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# dates_proto.cmake: oauth2cc_dates_proto, the code protoc makes of dates.proto (an OBJECT
# library whose users see the generated headers), for the example gRPC server and the
# adapter tests. Defined once, where gRPC++, protobuf, protoc and grpc_cpp_plugin are found.
# SPDX-License-Identifier: MIT

if(NOT TARGET oauth2cc_dates_proto AND TARGET oauth2cc_grpcpp)
  find_program(OAUTH2CC_PROTOC protoc)
  find_program(OAUTH2CC_GRPC_CPP_PLUGIN grpc_cpp_plugin)
  pkg_check_modules(OAUTH2CC_PROTOBUF QUIET IMPORTED_TARGET GLOBAL protobuf)
  if(OAUTH2CC_PROTOC AND OAUTH2CC_GRPC_CPP_PLUGIN AND OAUTH2CC_PROTOBUF_FOUND)
    set(_proto_dir "${CMAKE_CURRENT_LIST_DIR}")
    set(_gen "${PROJECT_BINARY_DIR}/dates-proto")
    file(MAKE_DIRECTORY "${_gen}")
    add_custom_command(
      OUTPUT "${_gen}/dates.pb.cc" "${_gen}/dates.pb.h" "${_gen}/dates.grpc.pb.cc"
             "${_gen}/dates.grpc.pb.h"
      COMMAND "${OAUTH2CC_PROTOC}" -I "${_proto_dir}" --cpp_out "${_gen}" --grpc_out "${_gen}"
              "--plugin=protoc-gen-grpc=${OAUTH2CC_GRPC_CPP_PLUGIN}" "${_proto_dir}/dates.proto"
      DEPENDS "${_proto_dir}/dates.proto"
      COMMENT "protoc: examples/grpc_server/dates.proto")
    add_library(oauth2cc_dates_proto OBJECT "${_gen}/dates.pb.cc" "${_gen}/dates.grpc.pb.cc")
    target_include_directories(oauth2cc_dates_proto SYSTEM PUBLIC "${_gen}")
    target_link_libraries(oauth2cc_dates_proto PUBLIC oauth2cc_grpcpp PkgConfig::OAUTH2CC_PROTOBUF)
    target_compile_features(oauth2cc_dates_proto PUBLIC cxx_std_17)
  endif()
endif()
