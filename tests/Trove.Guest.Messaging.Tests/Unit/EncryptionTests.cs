using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Serialization;

namespace Trove.Guest.Messaging.Tests.Unit;

/// <summary>The worked vectors of guest-contract §5.5, generated there with python3-trove's own code.</summary>
public sealed class EncryptionTests
{
    private const string Key = "0123456789ABCDEFabcdefGHIJKLMNOP";
    private const string GuestId = "11111111-2222-3333-4444-555555555555";
    private static readonly byte[] FixedIv = Convert.FromHexString("000102030405060708090a0b0c0d0e0f");

    private static TroveCbcCipher FixedCipher() => new(Key, () => (byte[])FixedIv.Clone());

    public static TheoryData<string, string> Vectors => new()
    {
        { "\"11111111-2222-3333-4444-555555555555\"", "AAECAwQFBgcICQoLDA0OD7S6jPUun+fSZ6jOrWU0FK4EBAHbObIluIGGbrKscPnoic/aKnY+3/u3Mu1/VIbEQQ==" },
        { "1700000000.5", "AAECAwQFBgcICQoLDA0OD/uZGLFcHZLVsPEuyX1ieiA=" },
        { "{\"service_status\": \"healthy\"}", "AAECAwQFBgcICQoLDA0OD4OrBq1mgyLmBsoqaHMDgQKhjY6K+zmR/PnGmyPd2l+Z" },
        { "{}", "AAECAwQFBgcICQoLDA0OD/NqyrRtURykEubGUyqwy4U=" },
        { "true", "AAECAwQFBgcICQoLDA0OD04AKjxV5tNPowFH8yHsegM=" },
        { "null", "AAECAwQFBgcICQoLDA0OD/YSH+SfU/oJkUGBGcwpwVQ=" },
        { "[{\"_name\": \"db1\", \"_character_set\": \"utf8\", \"_collate\": \"utf8_general_ci\"}]", "AAECAwQFBgcICQoLDA0OD1dC1b8OB7x7OPdlPap92OLv+r86nBRV4PIFzkKwDex8vR/SZyD9KPavaBE5XWU0K8sdywERpe3asRcK+xUttTZWCA9nAlBx2XQjxiJQN4C2" },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Secure_serializer_reproduces_the_spec_vectors(string plaintext, string expected)
    {
        var serializer = new SecureSerializer(FixedCipher());
        var entity = JsonNode.Parse(plaintext);
        serializer.SerializeEntity(new JsonObject(), entity)!.GetValue<string>().Should().Be(expected);
        PythonJson.Dumps(serializer.DeserializeEntity(new JsonObject(), expected)).Should().Be(plaintext);
    }

    [Fact]
    public void Random_iv_vector_decrypts()
    {
        var token = Convert.ToBase64String(Convert.FromHexString("731bfe365f8e232072bd98f16f955f84b537000af9374b7773361e6d0ff06c9d2c49085a1b815fde7abefc080bc02ceb"));
        new TroveCbcCipher(Key).TryDecrypt(token, out var text).Should().BeTrue();
        text.Should().Be("{\"hello\": \"world\"}");
    }

    [Fact]
    public void Conductor_guest_serializer_reproduces_the_heartbeat_arguments()
    {
        var serializer = new ConductorGuestSerializer(FixedCipher(), GuestId);
        serializer.SerializeEntity(new JsonObject(), GuestId)!.GetValue<string>().Should().Be(
            "{\"entity\": \"AAECAwQFBgcICQoLDA0OD7S6jPUun+fSZ6jOrWU0FK4EBAHbObIluIGGbrKscPnoic/aKnY+3/u3Mu1/VIbEQQ==\", \"csz-instance-id\": \"11111111-2222-3333-4444-555555555555\"}");
        serializer.SerializeEntity(new JsonObject(), 1700000000.5)!.GetValue<string>().Should().Be(
            "{\"entity\": \"AAECAwQFBgcICQoLDA0OD/uZGLFcHZLVsPEuyX1ieiA=\", \"csz-instance-id\": \"11111111-2222-3333-4444-555555555555\"}");
        var context = serializer.SerializeContext(new JsonObject { ["request_id"] = "req-1" });
        context["csz-instance-id"]!.GetValue<string>().Should().Be(GuestId);
        context["context"]!.GetValue<string>().Should().StartWith("AAECAwQFBgcICQoLDA0OD");
    }

    [Fact]
    public void Conductor_host_serializer_reads_what_the_guest_serializer_writes()
    {
        var guest = new ConductorGuestSerializer(new TroveCbcCipher(Key), GuestId);
        var host = new ConductorHostSerializer(id => id == GuestId ? new TroveCbcCipher(Key) : null);
        var context = host.DeserializeContext(guest.SerializeContext(new JsonObject { ["request_id"] = "req-9" }));
        context["request_id"]!.GetValue<string>().Should().Be("req-9");
        context["instance_id"]!.GetValue<string>().Should().Be(GuestId);
        var payload = host.DeserializeEntity(context, guest.SerializeEntity(context, new JsonObject { ["service_status"] = "healthy" }));
        PythonJson.Dumps(payload).Should().Be("{\"service_status\": \"healthy\"}");

        var stranger = new ConductorGuestSerializer(new TroveCbcCipher(Key), "99999999-0000-0000-0000-000000000000");
        FluentActions.Invoking(() => host.DeserializeContext(stranger.SerializeContext(new JsonObject())))
            .Should().Throw<RpcSerializationException>().WithMessage("*no encryption key*");
        var plain = host.DeserializeContext(new JsonObject { ["user"] = "u" });
        plain["user"]!.GetValue<string>().Should().Be("u");
    }

    [Fact]
    public void A_wrong_key_is_a_clear_error_for_the_context()
    {
        var sender = SecureSerializer.ForTroveKey(Key);
        var receiver = SecureSerializer.ForTroveKey("another-key-another-key-another-k");
        var context = sender.SerializeContext(new JsonObject { ["user"] = "u1" });
        FluentActions.Invoking(() => receiver.DeserializeContext(context))
            .Should().Throw<RpcSerializationException>().WithMessage("*wrong instance key*");
        FluentActions.Invoking(() => receiver.DeserializeContext(new JsonObject { ["user"] = "u1" }))
            .Should().Throw<RpcSerializationException>().WithMessage("*not encrypted*");
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("AAECAwQ=")]
    [InlineData("")]
    public void Undecryptable_arguments_are_refused(string token) =>
        FluentActions.Invoking(() => SecureSerializer.ForTroveKey(Key).DeserializeEntity(new JsonObject(), token))
            .Should().Throw<RpcSerializationException>();

    [Fact]
    public void Gcm_round_trips_and_detects_tampering_and_wrong_keys()
    {
        var cipher = new AesGcmCipher(Key);
        var token = cipher.Encrypt("{\"a\": 1}");
        token.Should().StartWith(AesGcmCipher.Prefix);
        cipher.TryDecrypt(token, out var text).Should().BeTrue();
        text.Should().Be("{\"a\": 1}");

        var bytes = Convert.FromBase64String(token[AesGcmCipher.Prefix.Length..]);
        bytes[14] ^= 1;
        cipher.TryDecrypt(AesGcmCipher.Prefix + Convert.ToBase64String(bytes), out _).Should().BeFalse("a flipped bit is detected");
        new AesGcmCipher("other").TryDecrypt(token, out _).Should().BeFalse();
        cipher.Encrypt("x").Should().NotBe(cipher.Encrypt("x"), "every message has a fresh nonce");

        var serializer = new SecureSerializer(cipher);
        FluentActions.Invoking(() => serializer.DeserializeEntity(new JsonObject(), "plain")).Should().Throw<RpcSerializationException>();
    }
}
