using System;

// Each type in Models.cs breaks exactly one rule; the build output lists FLORA001 ... FLORA009 and FLORA011 … FLORA015
// once each (FLORA013, information, shows in editors and error logs).
Console.WriteLine("Build this project to see the Flora diagnostics: dotnet build samples/DiagnosticsSample");
