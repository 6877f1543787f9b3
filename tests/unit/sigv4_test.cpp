// AWS's published example for header-based SigV4 (GET Object, "Signature Calculations for the
// Authorization Header: Transferring Payload in a Single Chunk", example 1).
#include <gtest/gtest.h>

#include "pixhive/core/crypto.hpp"
#include "pixhive/store/s3.hpp"

using namespace pixhive;

TEST(sigv4, matches_the_aws_get_object_example) {
  crypto::init();
  store::aws_credentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                               ""};
  const std::string empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  store::sigv4::request req{"GET",
                            "/test.txt",
                            "",
                            {{"Host", "examplebucket.s3.amazonaws.com"},
                             {"Range", "bytes=0-9"},
                             {"x-amz-content-sha256", empty},
                             {"x-amz-date", "20130524T000000Z"}},
                            empty};
  EXPECT_EQ(store::sigv4::authorization(req, creds, "us-east-1", "s3", "20130524T000000Z"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(sigv4, uri_encoding) {
  EXPECT_EQ(store::sigv4::uri_encode("photos/a b+c~._-", false), "photos/a%20b%2Bc~._-");
  EXPECT_EQ(store::sigv4::uri_encode("a/b", true), "a%2Fb");
  EXPECT_EQ(store::sigv4::uri_encode("\xc3\xa9", true), "%C3%A9");
}
