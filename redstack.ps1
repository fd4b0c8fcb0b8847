#!/usr/bin/env pwsh
# redstack: the developer and CI entry point of Trove.Guest. A thin dispatcher: every piece of logic lives in our
# tested C# command-line tools (or, for host set-up, in .ci/setup); this script only picks the command.
#
#   ./redstack.ps1 install               set up this Debian 12 host (packages, reference peers, PowerShell) and build
#   ./redstack.ps1 test                  run the test suite (the same command as CI and the README)
#   ./redstack.ps1 bench [rpc|agent|backup|replication|image|controller] ARGS  benchmarks: bench/run.sh (default), bench/agent.sh, ...
#   ./redstack.ps1 rpc ARGS...           trove-guest rpc ARGS... (e.g. rpc call --topic guestagent.ID --method rpc_ping)
#   ./redstack.ps1 build-image DATASTORE (imagebuilder issue: not built yet)
#   ./redstack.ps1 kick-start DATASTORE  (elements/qemu issue: not built yet)
#   ./redstack.ps1 clean                 remove build outputs
param(
    [Parameter(Position = 0)][string]$Command = 'help',
    [Parameter(Position = 1, ValueFromRemainingArguments = $true)][string[]]$Rest = @()
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot

function Invoke-Native([string]$File, [string[]]$Arguments) {
    & $File @Arguments
    exit $LASTEXITCODE
}

switch ($Command) {
    'install' { Invoke-Native 'bash' @('.ci/setup') }
    'test' { Invoke-Native 'dotnet' @('test', 'Trove.Guest.sln') }
    'bench' {
        $scripts = @{ 'rpc' = 'bench/run.sh'; 'agent' = 'bench/agent.sh'; 'backup' = 'bench/backup.sh'; 'replication' = 'bench/replication.sh'; 'image' = 'bench/imagebuilder.sh'; 'controller' = 'bench/controller.sh' }
        if ($Rest.Count -gt 0 -and $scripts.ContainsKey($Rest[0])) { Invoke-Native 'bash' (@($scripts[$Rest[0]]) + ($Rest | Select-Object -Skip 1)) }
        Invoke-Native 'bash' (@('bench/run.sh') + $Rest)
    }
    'rpc' { Invoke-Native 'dotnet' (@('run', '--project', 'controller/Trove.Guest.Cli', '-c', 'Release', '--', 'rpc') + $Rest) }
    'clean' {
        Get-ChildItem -Recurse -Directory -Include bin, obj, TestResults | Remove-Item -Recurse -Force
        exit 0
    }
    { $_ -in 'build-image', 'kick-start' } {
        [Console]::Error.WriteLine("redstack: '$Command' needs trove-guest-image and the qemu compute driver, which are not built yet (see the imagebuilder and elements issues).")
        exit 2
    }
    default {
        Get-Content $PSCommandPath | Select-Object -Skip 1 -First 10 | ForEach-Object { $_ -replace '^# ?', '' }
        if ($Command -ne 'help') { exit 64 }
        exit 0
    }
}
