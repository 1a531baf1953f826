{#- The listed columns of a model hold no NULL: one row per column that does,
    with how many rows hold NULL. One test per model, reading the model once
    (dbt's not_null under each column cost a dbt node, a parse and a query per
    column). `when` holds the columns whose NULLs are allowed in some rows:
    column -> a condition on the row, under which the column must not be NULL. -#}
{% test butter_not_null(model, column_names=[], when={}) %}
{%- set counts = {} -%}
{%- for column in column_names -%}
    {%- do counts.update({column: "count(*) - count(" ~ column ~ ")"}) -%}
{%- endfor -%}
{%- for column, condition in when.items() -%}
    {%- if column in counts -%}
        {{ exceptions.raise_compiler_error(
            "butter_not_null on " ~ column ~ ": listed in column_names and in when; give it once.") }}
    {%- endif -%}
    {%- do counts.update({column: "sum(case when (" ~ condition ~ ") and " ~ column
        ~ " is null then 1 else 0 end)"}) -%}
{%- endfor -%}
{{ butter_columns_failing(model, counts, "null_rows") }}
{% endtest %}
