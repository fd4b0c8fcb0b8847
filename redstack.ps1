#!/usr/bin/env pwsh
# redstack: the developer and CI entry point of Trove.Guest. A thin dispatcher: every piece of logic lives in our
# tested C# command-line tools (or, for host set-up, in .ci/setup); this script only picks the command.
#
#   ./redstack.ps1 install                        set up this Debian 12 host (bash .ci/setup: packages, reference peers, PowerShell) and build
#   ./redstack.ps1 test                           run the test suite: dotnet test Trove.Guest.sln (the same command as CI and the README)
#   ./redstack.ps1 build-image DATASTORE [-o OUTPUT] [ARGS]  a qcow2 guest image of trove-debian vm trove-guest-agent DATASTORE
#                                                 in OUTPUT.qcow2 (default artifacts/images/DATASTORE); ARGS go to trove-guest-image build
#   ./redstack.ps1 kick-start DATASTORE [ARGS]    trove-guest kick-start: build and register the image, the datastore and its version,
#                                                 create a test instance and wait until it is healthy, timing each step
#   ./redstack.ps1 bench [rpc|agent|backup|replication|image|controller|boot] ARGS  benchmarks: bench/run.sh (default), bench/agent.sh, ...
#   ./redstack.ps1 rpc ARGS...                    trove-guest rpc ARGS... (e.g. rpc call --topic guestagent.ID --method rpc_ping)
#   ./redstack.ps1 clean                          remove build outputs (bin, obj and TestResults folders) and artifacts/images
#   ./redstack.ps1 help                           this text
#
# DATASTORE is one of mariadb, mysql, postgresql, redis. Commands run in the repository root; relative paths are taken from there.
# Exit codes: the command's own; 64 for an unknown command or datastore. Environment:
#   DIB_TROVE_GUEST_AGENT  the agent the trove-guest-agent element installs (default: artifacts/agent/trove-guest-agent, made by install)
#   DIB_TROVE_GUEST_TEMPLATES  the templates it installs beside the agent (default: templates/)
#   REDSTACK_DOTNET        the dotnet to run (default: dotnet)    REDSTACK_BASH  the bash to run (default: bash)

# Only language features, .NET calls and native commands below: hosted runspaces may lack the
# Microsoft.PowerShell.Utility and Management modules.
function Invoke-Native([string]$File, [string[]]$Arguments) {
    & $File @Arguments
    exit $LASTEXITCODE
}

function Get-Tail([string[]]$Items, [int]$From) {
    # $Items less its first $From (Select-Object -Skip is a Utility cmdlet); callers wrap the result in @().
    if ($Items.Count -gt $From) { $Items[$From..($Items.Count - 1)] }
}

function Show-Usage {
    # The header comment, from the line after the shebang to the first line that is not a comment.
    $lines = [IO.File]::ReadAllLines($PSCommandPath)
    for ($i = 1; $i -lt $lines.Count -and $lines[$i].StartsWith('#'); $i++) { $lines[$i] -replace '^# ?', '' }
}

function Assert-Datastore([string]$Verb) {
    # Element names are case-sensitive, so the check is too.
    if ($Rest.Count -eq 0 -or $Rest[0] -cnotin $Datastores) {
        $given = if ($Rest.Count -gt 0) { "'$($Rest[0])'" } else { 'nothing' }
        [Console]::Error.WriteLine("redstack: $Verb needs a DATASTORE, one of $($Datastores -join ', ') (got $given)")
        exit 64
    }
}

function Set-AgentForImage {
    # The trove-guest-agent element reads the agent binary and our templates from here; install publishes the agent to artifacts/agent.
    if (-not $env:DIB_TROVE_GUEST_AGENT) {
        $env:DIB_TROVE_GUEST_AGENT = [IO.Path]::Combine($PSScriptRoot, 'artifacts', 'agent', 'trove-guest-agent')
    }
    if (-not $env:DIB_TROVE_GUEST_TEMPLATES) {
        $env:DIB_TROVE_GUEST_TEMPLATES = [IO.Path]::Combine($PSScriptRoot, 'templates')
    }
}

function Remove-BuildOutput([string]$Directory) {
    # bin and obj only beside a project file: DIB elements keep sources in folders named bin. Hidden folders (.git)
    # and links are left alone, as Get-ChildItem without -Force did.
    $isProject = [IO.Directory]::GetFiles($Directory, '*.*proj').Length -gt 0
    foreach ($path in [IO.Directory]::GetDirectories($Directory)) {
        $folder = [IO.DirectoryInfo]::new($path)
        if ($folder.Name.StartsWith('.') -or $null -ne $folder.LinkTarget) { continue }
        if ($folder.Name -ceq 'TestResults' -or ($isProject -and $folder.Name -cin 'bin', 'obj')) {
            [IO.Directory]::Delete($path, $true)
        }
        else {
            Remove-BuildOutput $path
        }
    }
}

# No param block on purpose: an advanced script would take "-o" or "-c" for its own (common) parameters; $args
# keeps every argument for the tool.
$ErrorActionPreference = 'Stop'
$PSNativeCommandUseErrorActionPreference = $false
$Command = if ($args.Count -gt 0) { [string]$args[0] } else { 'help' }
$Rest = [string[]]@(Get-Tail $args 1)
$Dotnet = if ($env:REDSTACK_DOTNET) { $env:REDSTACK_DOTNET } else { 'dotnet' }
$Bash = if ($env:REDSTACK_BASH) { $env:REDSTACK_BASH } else { 'bash' }
$Datastores = @('mariadb', 'mysql', 'postgresql', 'redis')

# The tools' relative paths (--project, Trove.Guest.sln) are the repository's: run there, and give the caller's
# location back afterwards (exit runs finally blocks too).
$ExecutionContext.SessionState.Path.PushCurrentLocation('redstack')
$null = $ExecutionContext.SessionState.Path.SetLocation($PSScriptRoot)
try {
    switch -CaseSensitive ($Command) {
        'install' { Invoke-Native $Bash @('.ci/setup') }
        'test' { Invoke-Native $Dotnet @('test', 'Trove.Guest.sln') }
        'build-image' {
            Assert-Datastore 'build-image'
            $datastore = $Rest[0]
            $output = "artifacts/images/$datastore"
            $extra = @()
            for ($i = 1; $i -lt $Rest.Count; $i++) {
                if ($Rest[$i] -ceq '-o') {
                    if ($i + 1 -ge $Rest.Count) { [Console]::Error.WriteLine('redstack: -o needs an OUTPUT'); exit 64 }
                    $output = $Rest[++$i]
                }
                else { $extra += $Rest[$i] }
            }
            Set-AgentForImage
            Invoke-Native $Dotnet (@('run', '--project', 'imagebuilder/Trove.Guest.ImageBuilder', '-c', 'Release', '--',
                    'build', '-o', $output, '-t', 'qcow2') + $extra + @('trove-debian', 'vm', 'trove-guest-agent', $datastore))
        }
        'kick-start' {
            Assert-Datastore 'kick-start'
            # kick-start builds the image first, with the same element.
            Set-AgentForImage
            Invoke-Native $Dotnet (@('run', '--project', 'controller/Trove.Guest.Cli', '-c', 'Release', '--', 'kick-start') + $Rest)
        }
        'bench' {
            $scripts = @{ 'rpc' = 'bench/run.sh'; 'agent' = 'bench/agent.sh'; 'backup' = 'bench/backup.sh'; 'replication' = 'bench/replication.sh'; 'image' = 'bench/imagebuilder.sh'; 'controller' = 'bench/controller.sh'; 'boot' = 'bench/guest-boot.sh' }
            if ($Rest.Count -gt 0 -and $scripts.ContainsKey($Rest[0])) {
                Invoke-Native $Bash (@($scripts[$Rest[0]]) + @(Get-Tail $Rest 1))
            }
            Invoke-Native $Bash (@('bench/run.sh') + $Rest)
        }
        'rpc' { Invoke-Native $Dotnet (@('run', '--project', 'controller/Trove.Guest.Cli', '-c', 'Release', '--', 'rpc') + $Rest) }
        'clean' {
            Remove-BuildOutput $PSScriptRoot
            $images = [IO.Path]::Combine($PSScriptRoot, 'artifacts', 'images')
            if ([IO.Directory]::Exists($images)) { [IO.Directory]::Delete($images, $true) }
            exit 0
        }
        'help' {
            Show-Usage
            exit 0
        }
        default {
            [Console]::Error.WriteLine("redstack: unknown command '$Command'")
            Show-Usage
            exit 64
        }
    }
}
finally {
    $null = $ExecutionContext.SessionState.Path.PopLocation('redstack')
}
