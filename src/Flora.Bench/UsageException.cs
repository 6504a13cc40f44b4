using System;

namespace Flora.Bench;

/// <summary>A command line the benchmark cannot run; the message says what is wrong and what to do.</summary>
internal sealed class UsageException : Exception
{
    public UsageException(string message) : base(message) { }
}
