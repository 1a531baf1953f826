{#-
    on-run-end hook: after any dbt command, one `BUTTER:` line per failed node
    saying what went wrong in terms of the data (which file, which column)
    and what to do, instead of leaving the reader with the engine's text.
    dbt_project.yml: on-run-end: ["{{ butter_report_failures(results) }}"]
    Returns no SQL (the hook only logs).
-#}
{% macro butter_report_failures(results) -%}
    {%- if execute -%}
        {%- for result in results if result.status in ('error', 'fail') -%}
            {%- set node = result.node -%}
            {%- set advice = butter_failure_advice(result.message or '') -%}
            {%- if not advice and node.resource_type == 'test' and result.status == 'fail' -%}
                {%- set advice = result.failures ~ " offending row(s), e.g. "
                    ~ butter_failing_rows_sample(node.compiled_code)
                    ~ ". Fix the data these rows come from or exclude it; `dbt test --select "
                    ~ node.name ~ " --store-failures` keeps them all in a table." -%}
            {%- endif -%}
            {%- if advice -%}
                {{- log("BUTTER: " ~ node.resource_type ~ " " ~ node.name ~ " failed: " ~ advice, info=true) -}}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return('') -}}
{%- endmacro %}


{#- The first rows a failed data test returns, as `column=value` text
    (each row cut at max_chars). -#}
{% macro butter_failing_rows_sample(test_sql, limit=3, max_chars=700) -%}
    {%- if not test_sql -%}
        {{ return('(rows not available)') }}
    {%- endif -%}
    {%- set sample = run_query('select * from (' ~ test_sql ~ ') as failing limit ' ~ limit) -%}
    {%- set rows = [] -%}
    {%- for row in sample.rows -%}
        {%- set pairs = [] -%}
        {%- for name in sample.column_names -%}
            {%- do pairs.append(name ~ '=' ~ row[loop.index0]) -%}
        {%- endfor -%}
        {%- set text = pairs | join(', ') -%}
        {%- do rows.append('[' ~ (text[:max_chars] ~ '...' if text | length > max_chars else text) ~ ']') -%}
    {%- endfor -%}
    {{ return(rows | join(' ')) }}
{%- endmacro %}
