using System.Text;
using FluentAssertions;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Trove.Guest.Logging.Journald.Tests;

public sealed class JournaldSinkTests : IDisposable
{
    private const string Identifier = "trove-guest-agent";
    private readonly JournalReceiver _journal = new();
    private readonly Logger _log;

    public JournaldSinkTests()
    {
        _log = new LoggerConfiguration()
            .MinimumLevel.Verbose()
            .WriteTo.Journald(Identifier, _journal.SocketPath)
            .CreateLogger();
    }

    public void Dispose()
    {
        _log.Dispose();
        _journal.Dispose();
    }

    [Fact]
    public void Writes_message_priority_identifier_template_and_properties()
    {
        _log.Information("Mounted {Device} at {MountPoint} in {Millis} ms", "/dev/vdb", "/var/lib/mysql", 42);

        var entry = _journal.Receive();
        // The rendered message keeps Serilog's usual quoting; the fields carry bare values.
        entry["MESSAGE"].Should().Be("Mounted \"/dev/vdb\" at \"/var/lib/mysql\" in 42 ms");
        entry["PRIORITY"].Should().Be("6");
        entry["SYSLOG_IDENTIFIER"].Should().Be(Identifier);
        entry["MESSAGE_TEMPLATE"].Should().Be("Mounted {Device} at {MountPoint} in {Millis} ms");
        entry["DEVICE"].Should().Be("/dev/vdb");
        entry["MOUNT_POINT"].Should().Be("/var/lib/mysql");
        entry["MILLIS"].Should().Be("42");
        entry.Names.Should().BeEquivalentTo("MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "MESSAGE_TEMPLATE", "DEVICE", "MOUNT_POINT", "MILLIS");
        entry.Fields.Should().OnlyContain(f => !f.Binary, "no value has a newline");
    }

    [Theory]
    [InlineData(LogEventLevel.Verbose, "7")]
    [InlineData(LogEventLevel.Debug, "7")]
    [InlineData(LogEventLevel.Information, "6")]
    [InlineData(LogEventLevel.Warning, "4")]
    [InlineData(LogEventLevel.Error, "3")]
    [InlineData(LogEventLevel.Fatal, "2")]
    public void Maps_level_to_syslog_priority(LogEventLevel level, string priority)
    {
        _log.Write(level, "level {Level}", level);

        var entry = _journal.Receive();
        entry["PRIORITY"].Should().Be(priority);
        entry["LEVEL"].Should().Be(level.ToString());
    }

    [Fact]
    public void Converts_property_names_to_journald_field_names()
    {
        _log.ForContext("user.name", "bob")
            .ForContext("_private", "p")
            .ForContext("9lives", "cat")
            .ForContext("ÄÖÜ", "dropped: nothing valid left")
            .ForContext("request-id", "r-1")
            .Information("{MessageId} {HTTPStatus} {Ipv4Address} {already_upper_OK}", "m-1", 503, "10.0.0.1", true);

        var entry = _journal.Receive();
        entry["MESSAGE_ID"].Should().Be("m-1");
        entry["HTTP_STATUS"].Should().Be("503");
        entry["IPV4_ADDRESS"].Should().Be("10.0.0.1");
        entry["ALREADY_UPPER_OK"].Should().Be("True");
        entry["USER_NAME"].Should().Be("bob");
        entry["PRIVATE"].Should().Be("p");
        entry["ARG_9LIVES"].Should().Be("cat");
        entry["REQUEST_ID"].Should().Be("r-1");
        entry.Names.Should().HaveCount(12, "the name of only non-ASCII letters is dropped").And.OnlyHaveUniqueItems();
        entry.Names.Should().OnlyContain(n => IsValidJournaldFieldName(n));
    }

    [Fact]
    public void Positional_properties_get_a_prefix_because_field_names_cannot_start_with_a_digit()
    {
        _log.Warning("Disk {0} is {1}% full", "vdb", 97);

        var entry = _journal.Receive();
        entry["MESSAGE"].Should().Be("Disk \"vdb\" is 97% full");
        entry["ARG_0"].Should().Be("vdb");
        entry["ARG_1"].Should().Be("97");
    }

    [Fact]
    public void A_property_named_like_a_sink_field_does_not_add_a_second_value_to_it()
    {
        _log.ForContext("Message", "shadow").ForContext("priority", "high").Error("real message");

        var entry = _journal.Receive();
        entry["MESSAGE"].Should().Be("real message");
        entry["PRIORITY"].Should().Be("3");
        entry["PROPERTY_MESSAGE"].Should().Be("shadow");
        entry["PROPERTY_PRIORITY"].Should().Be("high");
    }

    [Fact]
    public void Renders_scalars_bare_and_structured_values_as_serilog_does()
    {
        _log.Information("{Text} {Number} {Nothing} {Items} {@Point} {Map}",
            "plain text", 1.5, null, new[] { 1, 2, 3 }, new { X = 1, Y = "two" }, new Dictionary<string, int> { ["a"] = 1 });

        var entry = _journal.Receive();
        entry["TEXT"].Should().Be("plain text");
        entry["NUMBER"].Should().Be("1.5");
        entry["NOTHING"].Should().Be("null");
        entry["ITEMS"].Should().Be("[1, 2, 3]");
        entry["POINT"].Should().Be("{ X: 1, Y: \"two\" }");
        entry["MAP"].Should().Be("[(\"a\": 1)]");
    }

    [Fact]
    public void Multi_line_values_use_the_length_prefixed_binary_form_and_round_trip_exactly()
    {
        const string text = "first line\nsecond line\n\n  indented=third\n";
        _log.Information("Output:\n{Output:l}", text);

        var raw = _journal.ReceiveRaw();
        var rendered = "Output:\n" + text;
        var utf8 = Encoding.UTF8.GetBytes(rendered);
        // Checked on the raw bytes too, so the test does not rest on the parser alone: KEY\n, u64 LE length, bytes, \n.
        var expectedStart = "MESSAGE\n"u8.ToArray().Concat(BitConverter.GetBytes((ulong)utf8.Length)).Concat(utf8).Append((byte)'\n');
        raw.Payload.Take(8 + 8 + utf8.Length + 1).Should().Equal(expectedStart);

        var entry = JournalEntry.Parse(raw.Payload);
        entry.Field("MESSAGE").Binary.Should().BeTrue();
        entry["MESSAGE"].Should().Be(rendered);
        entry.Field("OUTPUT").Binary.Should().BeTrue();
        entry["OUTPUT"].Should().Be(text);
        entry.Field("PRIORITY").Binary.Should().BeFalse();
        entry["MESSAGE_TEMPLATE"].Should().Be("Output:\n{Output:l}");
    }

    [Fact]
    public void Exception_goes_into_EXCEPTION_and_after_the_message()
    {
        Exception error;
        try
        {
            throw new InvalidOperationException("backup failed", new IOException("disk full"));
        }
        catch (InvalidOperationException ex)
        {
            error = ex;
        }

        _log.Error(error, "Backup {BackupId} failed", "b-7");

        var entry = _journal.Receive();
        entry["EXCEPTION"].Should().Be(error.ToString());
        entry["EXCEPTION"].Should().Contain("disk full").And.Contain(nameof(Exception_goes_into_EXCEPTION_and_after_the_message));
        entry["MESSAGE"].Should().Be("Backup \"b-7\" failed\n" + error.ToString());
        entry.Field("MESSAGE").Binary.Should().BeTrue();
        entry["BACKUP_ID"].Should().Be("b-7");
    }

    [Fact]
    public void Unicode_round_trips_in_both_encodings()
    {
        const string single = "Grüße 🌍 日本語 — Ω";
        const string multi = "première ligne\nzweite Zeile 🚀";
        _log.Information("{Single} {Multi}", single, multi);

        var entry = _journal.Receive();
        entry["SINGLE"].Should().Be(single);
        entry.Field("SINGLE").Binary.Should().BeFalse();
        // The length prefix counts UTF-8 bytes, not chars; a char count would leave the parser misaligned.
        entry["MULTI"].Should().Be(multi);
        entry.Field("MULTI").Binary.Should().BeTrue();
        entry["MESSAGE"].Should().Be($"\"{single}\" \"{multi}\"");
    }

    [Fact]
    public void An_event_too_big_for_a_datagram_is_passed_as_a_sealed_memfd()
    {
        // Well past the default unix datagram limit (the socket send buffer, ~208 KiB).
        string big = string.Concat(Enumerable.Repeat("0123456789abcdef", 128 * 1024)) + "\nend ✓";
        _log.Information("Dump: {Dump}", big);
        _log.Information("small after big");

        var raw = _journal.ReceiveRaw();
        raw.ViaFileDescriptor.Should().BeTrue();
        raw.Seals.Should().Be(0xF, "journald only accepts a memfd sealed against seal/shrink/grow/write");
        var entry = JournalEntry.Parse(raw.Payload);
        entry["DUMP"].Should().Be(big);
        entry["MESSAGE"].Should().Be($"Dump: \"{big}\"");
        entry["PRIORITY"].Should().Be("6");

        var next = _journal.ReceiveRaw();
        next.ViaFileDescriptor.Should().BeFalse();
        JournalEntry.Parse(next.Payload)["MESSAGE"].Should().Be("small after big");
    }

    [Fact]
    public async Task Concurrent_writers_each_produce_one_well_formed_entry()
    {
        const int threads = 8, perThread = 100;
        var writers = Enumerable.Range(0, threads)
            .Select(t => Task.Run(() =>
            {
                for (int i = 0; i < perThread; i++)
                    _log.Information("writer {Writer} event {Index}\nsecond line", t, i);
            }))
            .ToArray();

        var seen = new HashSet<string>();
        for (int n = 0; n < threads * perThread; n++)
        {
            var entry = _journal.Receive();
            seen.Add($"{entry["WRITER"]}/{entry["INDEX"]}").Should().BeTrue();
            entry["MESSAGE"].Should().EndWith("\nsecond line");
        }
        await Task.WhenAll(writers);
        seen.Should().HaveCount(threads * perThread);
    }

    [Fact]
    public void Restricts_to_the_minimum_level_given_to_the_extension()
    {
        using var journal = new JournalReceiver();
        using var log = new LoggerConfiguration()
            .MinimumLevel.Verbose()
            .WriteTo.Journald("agent", journal.SocketPath, LogEventLevel.Warning)
            .CreateLogger();

        log.Information("not sent");
        log.Warning("sent");

        journal.Receive()["MESSAGE"].Should().Be("sent");
    }

    [Fact]
    public void Emit_after_dispose_is_ignored()
    {
        var sink = new JournaldSink("agent", _journal.SocketPath);
        sink.Dispose();

        var emit = () => sink.Emit(new LogEvent(DateTimeOffset.Now, LogEventLevel.Error, null, MessageTemplate.Empty, []));

        emit.Should().NotThrow();
    }

    [Fact]
    public void Rejects_an_empty_identifier()
    {
        var create = () => new JournaldSink(" ");
        create.Should().Throw<ArgumentException>();
    }

    private static bool IsValidJournaldFieldName(string name) =>
        name.Length is > 0 and <= 64 && !name.StartsWith('_') && !char.IsAsciiDigit(name[0])
        && name.All(c => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_');
}
