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

// AssumeRoleWithWebIdentity's answer as the STS documentation shows it (EKS IRSA).
TEST(sts, reads_web_identity_credentials) {
  auto r = store::parse_sts_credentials(
      R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:pixhive:pixhive</SubjectFromWebIdentityToken>
    <Credentials>
      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2026-12-03T18:40:00Z</Expiration>
      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>)");
  ASSERT_TRUE(r) << to_problem(r.error()).message;
  EXPECT_EQ(r->credentials.access_key, "ASgeIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(r->credentials.secret_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
  EXPECT_EQ(r->credentials.session_token, "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE");
  EXPECT_EQ(std::chrono::system_clock::to_time_t(r->expires), 1796323200);
}

TEST(sts, an_error_answer_is_an_error_with_its_message) {
  auto r = store::parse_sts_credentials(
      "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
      "<Message>Token &amp; role do not match</Message></Error></ErrorResponse>");
  ASSERT_FALSE(r);
  EXPECT_NE(to_problem(r.error()).message.find("Token & role do not match"), std::string::npos)
      << to_problem(r.error()).message;
  EXPECT_FALSE(store::parse_sts_credentials("<Credentials><AccessKeyId>A</AccessKeyId>"));
  EXPECT_FALSE(store::parse_sts_credentials(
      "<AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
      "<SessionToken>T</SessionToken><Expiration>soon</Expiration>"));
}
