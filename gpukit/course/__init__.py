"""The course directory: rendering templates into source/, and the nbgrader steps that follow."""
