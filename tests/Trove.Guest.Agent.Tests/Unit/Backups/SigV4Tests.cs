using FluentAssertions;
using Trove.Guest.Agent.ObjectStorage;

namespace Trove.Guest.Agent.Tests.Unit.Backups;

/// <summary>Our AWS Signature V4 against the worked example of the S3 documentation (GET /test.txt with a Range).</summary>
public sealed class SigV4Tests
{
    [Fact]
    public void The_s3_documentation_example_signs_to_the_published_signature()
    {
        var headers = new Dictionary<string, string>
        {
            ["host"] = "examplebucket.s3.amazonaws.com",
            ["range"] = "bytes=0-9",
            ["x-amz-content-sha256"] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ["x-amz-date"] = "20130524T000000Z",
        };
        var authorization = SigV4.Authorization("GET", "/test.txt", "", headers, headers["x-amz-content-sha256"],
            new DateTime(2013, 5, 24, 0, 0, 0, DateTimeKind.Utc), "us-east-1", "s3", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        authorization.Should().Be("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    }
}
