using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using System.Reflection;
using FluentAssertions;
using Microsoft.PowerShell.Commands;

namespace Trove.Guest.ImageBuilder.Tests.Redstack;

/// <summary>
/// redstack.ps1 read with PowerShell's own parser: it parses, its switch handles every command its usage documents,
/// and it calls no cmdlet at all (hosted runspaces may lack Microsoft.PowerShell.Utility and Management), only its own
/// functions and native programs through a variable.
/// </summary>
public sealed class RedstackParseTests
{
    [Fact]
    public void The_script_parses_without_errors()
    {
        RedstackScript.Parse(out var errors);
        errors.Select(e => $"{e.Extent.StartLineNumber}: {e.Message}").Should().BeEmpty();
    }

    [Fact]
    public void The_usage_documents_the_commands_and_the_substitutable_tools()
    {
        RedstackScript.DocumentedCommands().Should().BeEquivalentTo("install", "test", "build-image", "kick-start", "bench", "rpc", "clean", "help");
        var usage = string.Join('\n', RedstackScript.Usage());
        usage.Should().Contain("REDSTACK_DOTNET").And.Contain("REDSTACK_BASH").And.Contain("DIB_TROVE_GUEST_AGENT");
        usage.Should().Contain(string.Join(", ", RedstackScript.Datastores));
    }

    [Fact]
    public void The_switch_handles_every_documented_command_and_has_a_default()
    {
        var ast = RedstackScript.Parse(out _);
        var dispatch = ast.FindAll(a => a is SwitchStatementAst { Condition: PipelineAst p } && p.Extent.Text == "$Command", searchNestedScriptBlocks: true)
            .Cast<SwitchStatementAst>().Should().ContainSingle("one switch dispatches on $Command").Subject;

        var handled = dispatch.Clauses.Select(c => c.Item1).Should().AllBeOfType<StringConstantExpressionAst>().Subject
            .Select(c => c.Value);
        handled.Should().BeEquivalentTo(RedstackScript.DocumentedCommands());
        dispatch.Default.Should().NotBeNull("an unknown command prints the usage and exits 64");
    }

    [Fact]
    public void The_script_has_no_param_block()
    {
        // With [Parameter] attributes the script would be advanced: "-o OUTPUT" would bind to -OutVariable/-OutBuffer
        // (an ambiguity error) and "-d" to -Debug, instead of reaching the tool.
        RedstackScript.Parse(out _).ParamBlock.Should().BeNull();
    }

    [Fact]
    public void The_script_names_no_command_of_the_Utility_or_Management_modules()
    {
        var denied = UtilityAndManagementCommands();
        denied.Should().Contain(["Select-Object", "Get-ChildItem", "Remove-Item", "Get-Content", "Set-Location", "Join-Path", "Write-Host"]);
        denied.Should().Contain(["select", "gci", "gc", "ri", "cd"], "their aliases count too (on Unix, rm and cat stay the native programs)");

        var named = Commands(RedstackScript.Parse(out _)).Select(c => c.GetCommandName()).OfType<string>().ToList();
        named.Should().NotBeEmpty();
        named.Where(denied.Contains).Should().BeEmpty();
    }

    [Fact]
    public void The_script_calls_only_its_own_functions_and_native_programs_through_a_variable()
    {
        var ast = RedstackScript.Parse(out _);
        var functions = ast.FindAll(a => a is FunctionDefinitionAst, searchNestedScriptBlocks: true).Cast<FunctionDefinitionAst>()
            .Select(f => f.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        functions.Should().Contain("Invoke-Native");

        foreach (var command in Commands(ast))
        {
            var where = $"line {command.Extent.StartLineNumber}: {command.Extent.Text}";
            if (command.GetCommandName() is { } name)
            {
                functions.Should().Contain(name, $"only the script's own functions are called by name ({where})");
            }
            else
            {
                // `& $File @Arguments`: the native runner, whose program comes from REDSTACK_DOTNET/REDSTACK_BASH.
                command.InvocationOperator.Should().Be(TokenKind.Ampersand, where);
                command.CommandElements[0].Should().BeOfType<VariableExpressionAst>(where);
            }
        }
        Commands(ast).Count(c => c.GetCommandName() is null).Should().Be(1, "one place runs native programs");
    }

    private static List<CommandAst> Commands(Ast ast) =>
        ast.FindAll(a => a is CommandAst, searchNestedScriptBlocks: true).Cast<CommandAst>().ToList();

    /// <summary>
    /// Every cmdlet the two modules' assemblies define (from their [Cmdlet] attributes, so the modules need not load),
    /// and every default alias of one.
    /// </summary>
    private static HashSet<string> UtilityAndManagementCommands()
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var assembly in new[] { typeof(SelectObjectCommand).Assembly, typeof(GetChildItemCommand).Assembly })
        {
            foreach (var type in assembly.GetExportedTypes())
            {
                if (type.GetCustomAttribute<CmdletAttribute>() is { } cmdlet) names.Add($"{cmdlet.VerbName}-{cmdlet.NounName}");
            }
        }
        var aliases = InitialSessionState.CreateDefault2().Commands.OfType<SessionStateAliasEntry>()
            .Where(a => names.Contains(a.Definition)).Select(a => a.Name).ToList();
        names.UnionWith(aliases);
        return names;
    }
}
