"""Qt only, thin: widgets bind engine objects to the screen."""
