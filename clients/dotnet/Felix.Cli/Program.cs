using Felix.Cli;

return await FelixCommands.RunAsync(args, Console.Out, Console.Error);
