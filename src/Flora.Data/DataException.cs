using System;

namespace Flora.Data;

/// <summary>
/// A problem with the data sets of the main job: npm is missing or failed, a downloaded file is malformed, or a
/// data set does not have the shape the job needs. The message says what is wrong and, where possible, what to do.
/// </summary>
public sealed class DataException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public DataException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public DataException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
