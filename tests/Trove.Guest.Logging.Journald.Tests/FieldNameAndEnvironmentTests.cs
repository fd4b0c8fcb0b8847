using FluentAssertions;

namespace Trove.Guest.Logging.Journald.Tests;

public sealed class FieldNameAndEnvironmentTests
{
    [Theory]
    [InlineData("MessageId", "MESSAGE_ID")]
    [InlineData("messageId", "MESSAGE_ID")]
    [InlineData("SourceContext", "SOURCE_CONTEXT")]
    [InlineData("HTTPStatus", "HTTP_STATUS")]
    [InlineData("IOError", "IO_ERROR")]
    [InlineData("Ipv4Address", "IPV4_ADDRESS")]
    [InlineData("user.name", "USER_NAME")]
    [InlineData("user..name--x", "USER_NAME_X")]
    [InlineData("ALREADY_UPPER", "ALREADY_UPPER")]
    [InlineData("snake_case_name", "SNAKE_CASE_NAME")]
    [InlineData("__private", "PRIVATE")]
    [InlineData("trailing.", "TRAILING")]
    [InlineData("0", "ARG_0")]
    [InlineData("_1st", "ARG_1ST")]
    [InlineData("Größe", "GR_E")]
    [InlineData("Message", "PROPERTY_MESSAGE")]
    [InlineData("Exception", "PROPERTY_EXCEPTION")]
    [InlineData("MessageTemplate", "PROPERTY_MESSAGE_TEMPLATE")]
    [InlineData("SyslogIdentifier", "PROPERTY_SYSLOG_IDENTIFIER")]
    public void Converts(string property, string field) =>
        JournaldFieldName.FromPropertyName(property).Should().Be(field);

    [Theory]
    [InlineData("")]
    [InlineData("___")]
    [InlineData("ÄÖÜ")]
    [InlineData("..")]
    public void Drops_names_with_nothing_valid(string property) =>
        JournaldFieldName.FromPropertyName(property).Should().BeNull();

    [Fact]
    public void Truncates_to_64_characters_without_a_trailing_underscore()
    {
        string name = new string('a', 63) + "Bc";
        var field = JournaldFieldName.FromPropertyName(name);
        field.Should().Be(new string('A', 63));
        JournaldFieldName.FromPropertyName(new string('x', 100)).Should().HaveLength(64);
    }

    [Theory]
    [InlineData(null, null, false)]
    [InlineData("", "", false)]
    [InlineData("8:12345", null, true)]
    [InlineData(null, "0123456789abcdef0123456789abcdef", true)]
    public void Detects_systemd_from_its_environment(string? journalStream, string? invocationId, bool expected)
    {
        var env = Env(journalStream, invocationId);
        JournaldEnvironment.RunningUnderSystemd(env).Should().Be(expected);
    }

    [Fact]
    public void Journal_is_available_only_under_systemd_with_the_socket_present()
    {
        using var journal = new JournalReceiver();
        string missing = JournalReceiver.NewSocketPath();

        JournaldEnvironment.IsJournalAvailable(Env("8:1", null), journal.SocketPath).Should().BeTrue();
        JournaldEnvironment.IsJournalAvailable(Env(null, "abc"), journal.SocketPath).Should().BeTrue();
        JournaldEnvironment.IsJournalAvailable(Env(null, null), journal.SocketPath).Should().BeFalse();
        JournaldEnvironment.IsJournalAvailable(Env("8:1", "abc"), missing).Should().BeFalse();
    }

    private static Func<string, string?> Env(string? journalStream, string? invocationId) => name => name switch
    {
        "JOURNAL_STREAM" => journalStream,
        "INVOCATION_ID" => invocationId,
        _ => null,
    };
}
