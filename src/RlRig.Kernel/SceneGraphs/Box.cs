namespace RlRig.SceneGraphs;

/// <summary>
/// An axis-aligned box in pixels: (<see cref="X"/>, <see cref="Y"/>) is the top-left corner and y grows downward,
/// as in image coordinates. Width and height must be finite and not negative.
/// </summary>
public sealed record Box
{
    /// <summary>Creates a box from its top-left corner and size.</summary>
    public Box(double X, double Y, double Width, double Height)
    {
        if (!double.IsFinite(X)) throw new ArgumentOutOfRangeException(nameof(X), X, "X must be finite.");
        if (!double.IsFinite(Y)) throw new ArgumentOutOfRangeException(nameof(Y), Y, "Y must be finite.");
        if (!double.IsFinite(Width) || Width < 0)
            throw new ArgumentOutOfRangeException(nameof(Width), Width, "Width must be finite and >= 0.");
        if (!double.IsFinite(Height) || Height < 0)
            throw new ArgumentOutOfRangeException(nameof(Height), Height, "Height must be finite and >= 0.");
        this.X = X;
        this.Y = Y;
        this.Width = Width;
        this.Height = Height;
    }

    /// <summary>Left edge.</summary>
    public double X { get; }

    /// <summary>Top edge (y grows downward).</summary>
    public double Y { get; }

    /// <summary>Width in pixels.</summary>
    public double Width { get; }

    /// <summary>Height in pixels.</summary>
    public double Height { get; }

    /// <summary>Right edge, X + Width.</summary>
    public double Right => X + Width;

    /// <summary>Bottom edge, Y + Height.</summary>
    public double Bottom => Y + Height;

    /// <summary>Horizontal centre.</summary>
    public double CenterX => X + Width / 2;

    /// <summary>Vertical centre.</summary>
    public double CenterY => Y + Height / 2;

    /// <summary>The centre as (x, y).</summary>
    public (double X, double Y) Center => (CenterX, CenterY);

    /// <summary>Width times height.</summary>
    public double Area => Width * Height;

    /// <summary>Creates a box from corners (x1, y1) top-left and (x2, y2) bottom-right, the detectors' xyxy form.</summary>
    public static Box FromCorners(double x1, double y1, double x2, double y2)
    {
        if (x2 < x1 || y2 < y1)
            throw new ArgumentException($"Corners ({x1}, {y1}) - ({x2}, {y2}) are not top-left then bottom-right.");
        return new Box(x1, y1, x2 - x1, y2 - y1);
    }

    /// <summary>Area of the overlap with <paramref name="other"/>, 0 when they do not overlap.</summary>
    public double IntersectionArea(Box other)
    {
        ArgumentNullException.ThrowIfNull(other);
        double w = Math.Min(Right, other.Right) - Math.Max(X, other.X);
        double h = Math.Min(Bottom, other.Bottom) - Math.Max(Y, other.Y);
        return w > 0 && h > 0 ? w * h : 0;
    }

    /// <summary>Intersection over union; 0 when the union is empty (two zero-area boxes).</summary>
    public double Iou(Box other)
    {
        double inter = IntersectionArea(other);
        double union = Area + other.Area - inter;
        return union > 0 ? inter / union : 0;
    }

    /// <summary>
    /// Shortest Euclidean distance between the two rectangles' edges; 0 when they touch or overlap.
    /// </summary>
    public double Gap(Box other)
    {
        ArgumentNullException.ThrowIfNull(other);
        double gx = Math.Max(0, Math.Max(other.X - Right, X - other.Right));
        double gy = Math.Max(0, Math.Max(other.Y - Bottom, Y - other.Bottom));
        return Math.Sqrt(gx * gx + gy * gy);
    }
}
