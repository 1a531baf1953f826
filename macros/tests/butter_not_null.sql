{#- The listed columns of a model hold no NULL: one row per column that does,
    with how many rows hold NULL. One test per model, reading the model once
    (dbt's not_null under each column cost a dbt node, a parse and a query per
    column: 142 of them). A column whose NULLs are allowed in some rows keeps
    its own not_null test with a `where`. -#}
{% test butter_not_null(model, column_names) %}
{%- set counts = {} -%}
{%- for column in column_names -%}
    {%- do counts.update({column: "count(*) - count(" ~ column ~ ")"}) -%}
{%- endfor -%}
{{ butter_columns_failing(model, counts, "null_rows") }}
{% endtest %}
