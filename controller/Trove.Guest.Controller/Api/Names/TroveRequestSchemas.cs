using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Trove.Guest.Controller.Api.Names;

/// <summary>
/// The JSON schemas Trove checks database and user request bodies against before anything else (trove/common/apischema.py:
/// <c>dbschema</c>, <c>user</c>), with jsonschema's messages in Trove's "Validation error: users[0]['name'] '' should be
/// non-empty" form. Each method answers null when the body passes, or the message for the 400.
/// </summary>
public static partial class TroveRequestSchemas
{
    // apischema's string patterns, which .NET reads as Python's re does (^, $ and . have the same meaning without options).
    private const string AlphanumericPattern = "^.*[0-9a-zA-Z]+.*$";
    private const string HostPattern = @"^[%]?[\w(-).]*[%]?$";

    [GeneratedRegex(AlphanumericPattern)]
    private static partial Regex Alphanumeric();

    [GeneratedRegex(HostPattern)]
    private static partial Regex Host();

    /// <summary>POST databases: <c>{"databases": [{"name", "character_set"?, "collate"?}]}</c>.</summary>
    public static string? DatabasesCreate(JsonNode? body) => Check(body, "databases", (c, list, path) =>
        c.Array(list, path, uniqueItems: false, (item, itemPath) =>
            c.Object(item, itemPath, ["name"], new()
            {
                ["name"] = c.NonEmptyString, ["character_set"] = c.NonEmptyString, ["collate"] = c.NonEmptyString,
            })));

    /// <summary>POST users and PUT users (change passwords): <c>{"users": [{"name", "password", "host"?, "databases"?}]}</c>.</summary>
    public static string? Users(JsonNode? body) => Check(body, "users", (c, list, path) =>
        c.Array(list, path, uniqueItems: false, (item, itemPath) =>
            c.Object(item, itemPath, ["name", "password"], new()
            {
                ["name"] = c.NameString, ["password"] = c.Password, ["host"] = c.HostString,
                ["databases"] = (value, valuePath) => c.Array(value, valuePath, uniqueItems: true, c.DatabaseReference),
            })));

    /// <summary>PUT users/{name}/databases (grant): <c>{"databases": [{"name"}]}</c>, names unique.</summary>
    public static string? DatabaseReferences(JsonNode? body) => Check(body, "databases", (c, list, path) =>
        c.Array(list, path, uniqueItems: true, c.DatabaseReference));

    /// <summary>PUT users/{name} (update attributes): <c>{"user": {"name"?, "password"?, "host"?}}</c>, at least one.</summary>
    public static string? UserAttributes(JsonNode? body) => Check(body, "user", (c, attributes, path) =>
    {
        if (!c.Object(attributes, path, [], new() { ["name"] = c.NameString, ["password"] = c.Password, ["host"] = c.HostString })) return;
        if (((JsonObject)attributes!).Count == 0) c.Fail(path, "{} should be non-empty");
    });

    private static string? Check(JsonNode? body, string root, Action<Checker, JsonNode?, List<object>> checkRoot)
    {
        var checker = new Checker();
        if (checker.Object(body, [], [root], []) && ((JsonObject)body!).TryGetPropertyValue(root, out var value))
            checkRoot(checker, value, [root]);
        return checker.Message();
    }

    /// <summary>Collects errors with their paths, then orders and words them as Trove's <c>format_validation_msg</c>.</summary>
    private sealed class Checker
    {
        private readonly List<(List<object> Path, string Message)> _errors = [];

        public void Fail(List<object> path, string message) => _errors.Add((path, message));

        public string? Message()
        {
            if (_errors.Count == 0) return null;
            // jsonschema's errors sorted by path (a stable sort: one value's errors keep the schema's keyword order).
            var ordered = _errors.Select((e, i) => (e, i)).OrderBy(x => x.e.Path, PathComparer.Instance).ThenBy(x => x.i).Select(x => x.e);
            // Trove fails with an IndexError for an error at the root (a body without its key); the path is simply left out here.
            return "Validation error: " + string.Join("; ", ordered.Select(e => e.Path.Count == 0 ? e.Message : $"{FormatPath(e.Path)} {e.Message}"));
        }

        private static string FormatPath(List<object> path) =>
            path[0] + string.Concat(path.Skip(1).Select(p => p is int i ? $"[{i}]" : $"[{PythonRepr.Of((string)p)}]"));

        public bool Object(JsonNode? node, List<object> path, string[] required, Dictionary<string, Action<JsonNode?, List<object>>> properties)
        {
            if (node is not JsonObject obj)
            {
                Fail(path, $"{PythonRepr.Of(node)} is not of type 'object'");
                return false;
            }
            foreach (var name in required)
                if (!obj.ContainsKey(name)) Fail(path, $"{PythonRepr.Of(name)} is a required property");
            foreach (var (name, check) in properties)
                if (obj.TryGetPropertyValue(name, out var value)) check(value, [.. path, name]);
            return true;
        }

        public void Array(JsonNode? node, List<object> path, bool uniqueItems, Action<JsonNode?, List<object>> item)
        {
            if (node is not JsonArray array)
            {
                Fail(path, $"{PythonRepr.Of(node)} is not of type 'array'");
                return;
            }
            if (uniqueItems && HasDuplicates(array)) Fail(path, $"{PythonRepr.Of(array)} has non-unique elements");
            for (var i = 0; i < array.Count; i++) item(array[i], [.. path, i]);
        }

        public void DatabaseReference(JsonNode? node, List<object> path) => Object(node, path, ["name"], new() { ["name"] = NonEmptyString });

        /// <summary>apischema's <c>non_empty_string</c>: 1 to 255 characters, one of them a letter or digit.</summary>
        public void NonEmptyString(JsonNode? node, List<object> path) => String(node, path, maxLength: 255, Alphanumeric(), AlphanumericPattern);

        /// <summary>A password is a non_empty_string too; unlike Trove, the message does not quote it back (it is a secret).</summary>
        public void Password(JsonNode? node, List<object> path) => String(node, path, maxLength: 255, Alphanumeric(), AlphanumericPattern, secret: true);

        /// <summary>apischema's <c>name_string</c>: like non_empty_string, without the upper bound.</summary>
        public void NameString(JsonNode? node, List<object> path) => String(node, path, maxLength: null, Alphanumeric(), AlphanumericPattern);

        /// <summary>apischema's <c>host_string</c>: word characters, '(', ')', '.', and '%' at either end.</summary>
        public void HostString(JsonNode? node, List<object> path) => String(node, path, maxLength: null, Host(), HostPattern);

        private void String(JsonNode? node, List<object> path, int? maxLength, Regex pattern, string patternText, bool secret = false)
        {
            if (node is not JsonValue value || !value.TryGetValue<string>(out var text))
            {
                Fail(path, $"{PythonRepr.Of(node)} is not of type 'string'");
                return;
            }
            var length = text.EnumerateRunes().Count();
            var shown = secret && length > 0 ? "'***'" : PythonRepr.Of(text);
            if (length < 1) Fail(path, $"{shown} should be non-empty");
            if (length > maxLength) Fail(path, $"{shown} is too long");
            if (!pattern.IsMatch(text)) Fail(path, $"{shown} does not match {PythonRepr.Of(patternText)}");
        }

        private static bool HasDuplicates(JsonArray array)
        {
            for (var i = 0; i < array.Count; i++)
                for (var j = i + 1; j < array.Count; j++)
                    if (JsonNode.DeepEquals(array[i], array[j])) return true;
            return false;
        }
    }

    /// <summary>Python's ordering of paths: element by element (indexes with indexes, keys with keys), a prefix first.</summary>
    private sealed class PathComparer : IComparer<List<object>>
    {
        public static readonly PathComparer Instance = new();

        public int Compare(List<object>? x, List<object>? y)
        {
            for (var i = 0; i < Math.Min(x!.Count, y!.Count); i++)
            {
                var order = (x[i], y[i]) switch
                {
                    (int a, int b) => a.CompareTo(b),
                    (string a, string b) => string.CompareOrdinal(a, b),
                    _ => 0,
                };
                if (order != 0) return order;
            }
            return x.Count.CompareTo(y.Count);
        }
    }
}
