"""The instructor's side: grade a class fast, in a forked warm process per submission, with
nbgrader's verdicts (`grader`), a tamper guard (`guard`) and reports (`report`)."""
