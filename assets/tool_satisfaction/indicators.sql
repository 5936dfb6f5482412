-- Objective 8: satisfaction with the regional tools, by département and quarter of the answers
-- (period = first day of the quarter); segment = tool (NULL = all tools). The mean score carries the sum
-- of the scores as numerator and the number of answers as denominator.
WITH answer AS (
    SELECT date_trunc('quarter', date_reponse)::DATE AS period, departement, outil, note, upload_sha256
    FROM staging.tool_satisfaction
),
by_segment AS (
    SELECT NULL::VARCHAR AS segment, * FROM answer
    UNION ALL
    SELECT outil, * FROM answer
),
counted AS (
    SELECT 'departement' AS territory_level, departement AS territory_code, period, segment,
           sum(note) AS scores, count_if(note >= 4) AS satisfied, count(*) AS answers,
           list_sort(list_distinct(list(upload_sha256))) AS upload_sha256
    FROM by_segment
    GROUP BY ALL
)
SELECT 'tool_satisfaction_score' AS indicator_id, territory_level, territory_code, period, segment,
       scores::BIGINT AS numerator, answers::BIGINT AS denominator, scores / answers AS value,
       'moyenne' AS unit, NULL AS note, upload_sha256
FROM counted
UNION ALL
SELECT 'tool_satisfied_rate', territory_level, territory_code, period, segment,
       satisfied::BIGINT, answers::BIGINT, satisfied / answers, 'taux', NULL, upload_sha256
FROM counted
