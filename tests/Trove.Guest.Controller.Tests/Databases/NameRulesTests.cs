using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Controller.Api.Names;

namespace Trove.Guest.Controller.Tests.Databases;

/// <summary>
/// Trove's MySQL name rules and message quoting, case by case (expected texts taken from Trove's code run under
/// Python: jsonschema's messages, repr, netaddr's IP check).
/// </summary>
public sealed class NameRulesTests
{
    [Theory]
    [InlineData("abc", "'abc'")]
    [InlineData("it's", "\"it's\"")]
    [InlineData("a'\"b", "'a\\'\"b'")]
    [InlineData("a\\b\tc\n", "'a\\\\b\\tc\\n'")]
    [InlineData("\u0001\u00a0\u2028é😀", "'\\x01\\xa0\\u2028é😀'")]
    public void Strings_are_quoted_as_Pythons_repr(string value, string repr) => PythonRepr.Of(value).Should().Be(repr);

    [Fact]
    public void Json_values_are_shown_as_Python_objects() =>
        PythonRepr.Of(JsonNode.Parse("""[1, 2.5, {"a": false, "b": null, "c": "x"}, true]""")).Should().Be("[1, 2.5, {'a': False, 'b': None, 'c': 'x'}, True]");

    [Theory]
    [InlineData("db", null)]
    [InlineData("my-db_1", null)]
    [InlineData("a b", null)]
    [InlineData("a@#?b", null)]
    [InlineData("a", "'a' is not a valid schema name.")]
    [InlineData("a.b", "'a.b' is not a valid schema name.")]
    [InlineData("a\\b", "'a\\b' is not a valid schema name.")]
    [InlineData("ab\n", "'ab\n' is not a valid schema name.")]
    [InlineData("", "Schema name empty.")]
    public void Schema_names_follow_MySQLSchema(string name, string? problem) => MySqlNameRules.SchemaNameProblem(name).Should().Be(problem);

    [Theory]
    [InlineData("bob", null)]
    [InlineData("bob smith", null)]
    [InlineData("bob@", null)]
    [InlineData("sixteen_chars_ok", null)]
    [InlineData("seventeen_chars_x", "User name 'seventeen_chars_x' is too long. Max length = 16.")]
    [InlineData("bob ", "'bob ' is not a valid user name.")]
    [InlineData("a,b", "'a,b' is not a valid user name.")]
    [InlineData("a/b", "'a/b' is not a valid user name.")]
    [InlineData("a;b", "'a;b' is not a valid user name.")]
    [InlineData("a\u200bb", "'a\u200bb' is not a valid user name.")]
    public void User_names_follow_MySQLUser(string name, string? problem) => MySqlNameRules.UserNameProblem(name).Should().Be(problem);

    [Theory]
    [InlineData("%", true)]
    [InlineData("10.0.0.%", true)]
    [InlineData("%.%.%.%", true)]
    [InlineData("192.168.1.0/24", true)]
    [InlineData("::1", true)]
    [InlineData("fe80::/10", true)]
    [InlineData("localhost", false)]
    [InlineData("%.example.com", false)]
    [InlineData("10.0.0.256", false)]
    [InlineData("10.0.0.1/33", false)]
    [InlineData("10.0.0.1'--", false)]
    public void Hosts_must_be_IP_addresses_or_networks_with_wildcards(string host, bool valid) =>
        (MySqlNameRules.HostProblem(host) is null).Should().Be(valid);

    [Fact]
    public void Character_sets_and_collations_resolve_as_Troves_setters()
    {
        MySqlNameRules.Encoding(null, null).Should().Be(((string?)null, (string?)null, (string?)null));
        MySqlNameRules.Encoding("utf8mb4", null).Should().Be(("utf8mb4", (string?)null, (string?)null));
        MySqlNameRules.Encoding(null, "latin1_bin").Should().Be(("latin1", "latin1_bin", (string?)null));
        MySqlNameRules.Encoding(null, "utf8mb4_0900_ai_ci").Should().Be(("utf8mb4", "utf8mb4_0900_ai_ci", (string?)null), "Trove's collation list has it");
        MySqlNameRules.Encoding("utf8mb4", "utf8mb4_0900_ai_ci").Problem.Should().Be("utf8mb4_0900_ai_ci not a valid collation for charset utf8mb4.");
        MySqlNameRules.Encoding("klingon", null).Problem.Should().Be("'klingon' not a valid character set.");
    }

    [Theory]
    [InlineData("bob", "bob", "%")]
    [InlineData("bob@10.0.0.1", "bob", "10.0.0.1")]
    [InlineData("bob@", "bob@", "%")]
    [InlineData("a@b@10.0.0.%", "a@b", "10.0.0.%")]
    [InlineData("bob%4010%2e0%2e0%2e1", "bob", "10.0.0.1")]
    public void User_ids_split_at_the_last_at_sign(string id, string name, string host) => UserHostId.Parse(id).Should().Be(new UserHostId(name, host));

    [Fact]
    public void Validation_messages_are_jsonschemas_in_Troves_form()
    {
        TroveRequestSchemas.Users(JsonNode.Parse("""{"users": [{"name": "bob", "password": "p1", "databases": [{"name": "a"}, {"name": "a"}]}]}"""))
            .Should().Be("Validation error: users[0]['databases'] [{'name': 'a'}, {'name': 'a'}] has non-unique elements");
        TroveRequestSchemas.DatabasesCreate(JsonNode.Parse("""{"databases": [{"name": "it's"}, {"name": true}, {"name": null}, {"name": [1, 2.5, {"a": false}]}]}"""))
            .Should().Be("Validation error: databases[1]['name'] True is not of type 'string'; databases[2]['name'] None is not of type 'string'; "
                + "databases[3]['name'] [1, 2.5, {'a': False}] is not of type 'string'");
        TroveRequestSchemas.DatabasesCreate(JsonNode.Parse($$"""{"databases": [{"name": "{{new string('x', 256)}}"}]}"""))
            .Should().Be($"Validation error: databases[0]['name'] '{new string('x', 256)}' is too long");
        TroveRequestSchemas.Users(JsonNode.Parse("""{"users": [{"name": "bob", "password": "pw1", "host": ""}]}"""))
            .Should().Be("Validation error: users[0]['host'] '' should be non-empty");
        TroveRequestSchemas.DatabaseReferences(JsonNode.Parse("""{"databases": []}""")).Should().BeNull();
    }
}
