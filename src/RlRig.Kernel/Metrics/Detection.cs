using RlRig.SceneGraphs;

namespace RlRig.Metrics;

/// <summary>One detector output: a class label, its box in pixels and the detector's confidence in [0, 1].</summary>
public sealed record Detection(string Label, Box Box, double Score);
