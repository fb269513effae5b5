"""The grading pipeline, one step per module:

release (generate + leak check) -> submissions (find + check) -> execute (restore
hidden tests, inject parameters, run) -> score (nbgrader autograde into the gradebook)
-> results (one JSON per submission) -> feedback / export.
"""
