using Trove.Guest.ImageBuilder.CommandLine;

return await ImageCli.RunAsync(args, Console.Out, Console.Error);
