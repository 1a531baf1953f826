{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- Custom schemas are used as they are (staging, intermediate, marts,
        seeds), without the target-schema prefix dbt adds by default. -#}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
